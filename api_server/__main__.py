"""`python -m api_server`: serve the gateway with uvicorn."""

from api_server.cli import main

if __name__ == "__main__":
    main()
