"""Users, roles (viewer < analyst < officer < admin), hashed API tokens and passwords (issue 12).

An identity is proven, never typed: an API token (HTTP bearer, or AIEXPORT_TOKEN for the CLI)
or a password (the web session). A name on the command line is not an identity.
"""
