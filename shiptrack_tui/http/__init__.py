"""The HTTP surface (DESIGN §11): routers for FastAPI on uvicorn, and the dashboard for browsers."""
