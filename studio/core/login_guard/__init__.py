"""Login throttling around django-axes: failed sign-ins are logged and audited per workspace, and a
locked-out sign-in gets the login page back with a readable message (``lockout.lockout_response``)."""
