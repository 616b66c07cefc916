"""`inferstack keys create|list|revoke`: manage API keys in the database named by
INFERSTACK_DATABASE_URL (or the gateway's other settings sources). `inferstack keys hash`:
a `static_api_keys` entry, for api_key auth without a database."""

from __future__ import annotations

import argparse
import asyncio
import sys

import asyncpg

from api_server.arg_types import positive_int
from api_server.auth.keys import generate_key, hash_key, looks_like_key
from api_server.auth.repository import ApiKeyRepository
from api_server.auth.static_keys import hash_entry
from api_server.config import Settings
from api_server.priority_classes import PRIORITY_CLASSES


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="inferstack keys", description="Create, list and revoke the gateway's API keys."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument("--name", required=True, help="who or what the key is for")
    create.add_argument("--models", help="comma-separated models it may use (default: all)")
    create.add_argument("--rpm", type=positive_int, help="requests per minute (default: no limit)")
    create.add_argument("--tpm", type=positive_int, help="tokens per minute (default: no limit)")
    create.add_argument(
        "--priority",
        choices=PRIORITY_CLASSES,
        help="its class in the admission queues: the default and the highest its requests "
        "may ask for with X-Priority (default: normal)",
    )
    listing = commands.add_parser("list", help="list keys (their prefixes, never the keys)")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    revoke = commands.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id")
    hashing = commands.add_parser(
        "hash", help="print a static_api_keys entry for a fresh key (or one read from stdin)"
    )
    hashing.add_argument("--stdin", action="store_true", help="hash the key read from stdin")
    args = parser.parse_args(argv)
    if args.command == "hash":
        return _hash(args.stdin)

    settings = Settings()
    if settings.database_url is None:
        parser.error("INFERSTACK_DATABASE_URL is not set")
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    assert settings.database_url is not None
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(),
        min_size=1,
        max_size=1,
        timeout=settings.database_connect_timeout_s,
        command_timeout=settings.database_command_timeout_s,
    )
    try:
        keys = ApiKeyRepository(pool)
        if args.command == "create":
            models = [m.strip() for m in args.models.split(",")] if args.models else None
            record, key = await keys.create(args.name, models, args.rpm, args.tpm, args.priority)
            print(f"id:     {record.id}")
            print(f"name:   {record.name}")
            print(f"models: {', '.join(record.models) if record.models else 'all'}")
            print(f"priority: {record.priority or 'normal'}")
            print(f"key:    {key}")
            print("Store the key now: it is not kept and cannot be shown again.", file=sys.stderr)
        elif args.command == "list":
            print(f"{'id':36}  {'prefix':8}  {'created':19}  {'state':7}  name  models")
            for item in await keys.list(include_revoked=args.all):
                allowed = ",".join(item.models) if item.models is not None else "all"
                state = "revoked" if item.revoked_at else "live"
                created = item.created_at.strftime("%Y-%m-%d %H:%M:%S")
                print(f"{item.id}  {item.prefix}  {created}  {state:7}  {item.name}  {allowed}")
        elif not await keys.revoke(args.id):
            print(f"no live key with id {args.id}", file=sys.stderr)
            return 1
        else:
            print(f"revoked {args.id} (gateways may accept it for up to their key cache TTL)")
        return 0
    finally:
        await pool.close()


def _hash(from_stdin: bool) -> int:
    """No settings read and no database: the entry goes into the settings by hand."""
    if not from_stdin:
        key = generate_key()
        print(f"key:    {key}")
        print(f"entry:  {hash_entry(hash_key(key))}")
        print("Store the key now: only its hash goes into static_api_keys.", file=sys.stderr)
        return 0
    key = sys.stdin.read().strip()
    if not looks_like_key(key):
        # Never echo it: it may be a secret meant for somewhere else.
        print("not an inferstack key (isk- and 32 characters): the gateway", file=sys.stderr)
        print("would refuse it. Run `inferstack keys hash` for a fresh one.", file=sys.stderr)
        return 2
    print(hash_entry(hash_key(key)))
    return 0
