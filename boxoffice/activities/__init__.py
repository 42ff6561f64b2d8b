"""Activities, grouped by domain; each group is a class whose clients come through its constructor."""
