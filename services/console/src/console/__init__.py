"""The operator console: the back office in a browser.

A client of the gateway's public API like any other: it calls the API with the logged-in
operator's own bearer token and shows what the API answers, so it can never show or do more
than the API grants that operator (see README, "Operator console").
"""
