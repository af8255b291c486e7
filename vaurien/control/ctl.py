"""C{vaurienctl}: the control API from the command line.

    vaurienctl [--url http://127.0.0.1:8080] [--token T] [--proxy NAME]
               list | get [--options] | set NAME [key=value ...] [--ttl S]
               | reset | backend [ADDRESS] | enable | disable | stats
               | toxic list
               | toxic add TYPE [attribute=value ...] [--name N] [--stream S]
                           [--toxicity X] [--ttl S]
               | toxic update NAME [attribute=value ...] [--toxicity X]
               | toxic remove (NAME | --all)
"""
from __future__ import annotations

import argparse
import json
from typing import Any, Sequence
from urllib.error import URLError
from urllib.parse import urlsplit

from vaurien.control.client import Client, ControlAPIError


def option_values(pairs: Sequence[str]) -> dict[str, Any]:
    """C{key=value} words as C{set_behavior} options.

    A value is read as JSON when it is (C{2}, C{true}, C{"a b"}), else kept
    as a string; C{delay.sleep=1} is an option of the handler C{delay}
    (for shares of several handlers).

    @raise ValueError: for a word without C{=}.
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        if not equals or not key:
            raise ValueError(f"{pair!r} is not key=value")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        handler, dot, option = key.rpartition(".")
        if dot:
            options.setdefault(handler, {})[option] = value
        else:
            options[key] = value
    return options


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vaurienctl", description="Drive a running Vaurien.")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the control API")
    parser.add_argument("--token", help="the API's Bearer token, when it has one")
    parser.add_argument("--proxy", help="the proxy's name (default: the first)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the handlers that can be set")
    getter = commands.add_parser("get", help="the handlers in force")
    getter.add_argument("--options", action="store_true",
                        help="each handler's options too, as JSON")
    setter = commands.add_parser("set", help="put handlers in force")
    setter.add_argument("name", help='a handler, or shares: "20:delay,5:error"')
    setter.add_argument("options", nargs="*", metavar="key=value",
                        help="handler options (sleep=2, or delay.sleep=2 with shares)")
    setter.add_argument("--ttl", type=float, help="seconds until the configured handlers return")
    commands.add_parser("reset", help="put the handlers the proxy was started with back")
    backend = commands.add_parser("backend", help="show or change the backend")
    backend.add_argument("address", nargs="?", help="host:port or an endpoint string")
    commands.add_parser("enable", help="bring the proxy back: it listens again")
    commands.add_parser("disable", help="take the proxy down: it stops listening and"
                                        " closes its connections")
    commands.add_parser("stats", help="the counters, as JSON")
    toxic = commands.add_parser("toxic", help="the proxy's toxics (stream faults)")
    actions = toxic.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="the toxics in force, as JSON")
    adder = actions.add_parser("add", help="add a toxic")
    adder.add_argument("type", help="latency, bandwidth, slicer, timeout, ...")
    adder.add_argument("attributes", nargs="*", metavar="attribute=value",
                       help="its attributes (latency=100)")
    adder.add_argument("--name", help="its name (default: TYPE_STREAM)")
    adder.add_argument("--stream", default="downstream", help="upstream or downstream")
    adder.add_argument("--toxicity", type=float, default=1.0,
                       help="the share of connections it acts on, 0 to 1")
    adder.add_argument("--ttl", type=float, help="seconds until it is removed")
    updater = actions.add_parser("update", help="change a toxic")
    updater.add_argument("name")
    updater.add_argument("attributes", nargs="*", metavar="attribute=value")
    updater.add_argument("--toxicity", type=float)
    remover = actions.add_parser("remove", help="remove a toxic, or every one")
    remover.add_argument("name", nargs="?")
    remover.add_argument("--all", action="store_true", help="remove every toxic")
    return parser


def _toxic(client: Client, arguments: argparse.Namespace) -> str:
    """Do a C{toxic} action; what to print (JSON)."""
    action = arguments.action
    if action == "add":
        shown = client.add_toxic(arguments.type, arguments.name, arguments.stream,
                                 arguments.toxicity, arguments.ttl,
                                 **option_values(arguments.attributes))
    elif action == "update":
        shown = client.update_toxic(arguments.name, arguments.toxicity,
                                    **option_values(arguments.attributes))
    elif action == "remove":
        if arguments.all == (arguments.name is not None):
            raise ValueError("toxic remove: give a NAME or --all")
        if arguments.all:
            client.remove_toxics()
        else:
            client.remove_toxic(arguments.name)
        shown = client.toxics()
    else:
        shown = client.toxics()
    return json.dumps(shown, indent=2, sort_keys=True)


def _run(client: Client, arguments: argparse.Namespace) -> str:
    """Do the command; what to print."""
    if arguments.command == "list":
        return "\n".join(client.list_behaviors())
    if arguments.command == "get" and arguments.options:
        return json.dumps(client.get_behavior_options(), indent=2, sort_keys=True)
    if arguments.command == "get":
        return client.get_behavior()
    if arguments.command == "reset":
        client.reset_behavior()
        return client.get_behavior()
    if arguments.command == "set":
        options = option_values(arguments.options)
        if arguments.ttl is not None:
            options["ttl"] = arguments.ttl
        client.set_behavior(arguments.name, **options)
        return client.get_behavior()
    if arguments.command == "toxic":
        return _toxic(client, arguments)
    if arguments.command == "backend":
        if arguments.address is not None:
            client.set_backend(arguments.address)
        return client.get_backend()
    if arguments.command in ("enable", "disable"):
        client.set_enabled(arguments.command == "enable")
        return "enabled" if client.enabled() else "disabled"
    return json.dumps(client.stats(), indent=2, sort_keys=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Run C{vaurienctl}; exit with status 2 and a message on any error."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    url = urlsplit(arguments.url)
    try:
        client = Client(url.hostname or "127.0.0.1", url.port or 8080, url.scheme or "http",
                        token=arguments.token, proxy=arguments.proxy)
        print(_run(client, arguments))
    except URLError as e:
        parser.exit(2, f"vaurienctl: error: cannot reach {arguments.url}: {e.reason}\n")
    except (ValueError, ControlAPIError, OSError) as e:
        parser.exit(2, f"vaurienctl: error: {e}\n")
