"""Business rules and queries, below the routes and shared with the activities."""
