"""Vouchers (issue 13): discount codes per event or ticket type, redeemed atomically with a hold."""
