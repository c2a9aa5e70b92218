"""The web workspace: server-rendered Jinja2 pages, HTMX for partial updates, SVG charts drawn
on the server. Every view is a thin adapter over `aiexport.app`."""
