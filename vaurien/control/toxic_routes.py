"""The control API's routes for a proxy's toxics, under C{/toxics} (or
C{/proxies/NAME/toxics}):

    GET     /toxics          {"toxics": [toxic, ...]}, in the order added
    POST    /toxics          add one: {"type": "latency", "name": ...,
                             "stream": ..., "toxicity": ..., "attributes":
                             {...}, "ttl": ...} (only type is required);
                             answers the toxic
    DELETE  /toxics          remove every toxic
    GET     /toxics/T        the toxic named T
    PUT, POST or PATCH /toxics/T
                             change it: {"attributes": {...}, "toxicity":
                             x}, what is left out keeps its value;
                             answers the toxic
    DELETE  /toxics/T        remove it

A toxic is C{{"name", "type", "stream", "toxicity", "attributes"}}. Bad
input is a 400 naming the field; an unknown toxic 404; a name taken 409.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from twisted.logger import Logger
from twisted.web.server import Request

from vaurien.control.answers import APIError, Changed, json_body
from vaurien.control.channel import toxic_command
from vaurien.errors import ConfigError, Conflict, NotFound
from vaurien.interfaces import IProxyControl

_log = Logger()

#: The fields of a body that adds a toxic.
_ADD_FIELDS = ("name", "type", "stream", "toxicity", "attributes", "ttl")
#: The fields of a body that changes one.
_UPDATE_FIELDS = ("attributes", "toxicity")
#: The words of a refusal's message that name the field at fault, first match wins.
_FIELD_WORDS = ("ttl", "toxicity", "stream", "attribute", "type")


def _list(proxy: str, control: IProxyControl, request: Request) -> Any:
    return {"toxics": control.toxics()}


def _add(proxy: str, control: IProxyControl, request: Request) -> Any:
    body = _fields(json_body(request), _ADD_FIELDS)
    if not isinstance(body.get("type"), str) or not body["type"]:
        raise APIError(400, "body", "type", 'give the toxic\'s type: {"type": "latency"}')
    arguments = {"name": body.get("name"), "type": body["type"],
                 "stream": body.get("stream", "downstream"),
                 "toxicity": body.get("toxicity", 1.0),
                 "attributes": body.get("attributes"), "ttl": body.get("ttl")}
    shown = _refused(control.add_toxic, **arguments)
    _log.info("proxy {proxy}: toxic {toxic} added", proxy=proxy, toxic=shown)
    return Changed(toxic_command(proxy, "add_toxic", **{**arguments, "name": shown["name"]}),
                   shown)


def _remove_all(proxy: str, control: IProxyControl, request: Request) -> Any:
    control.remove_toxics()
    _log.info("proxy {proxy}: every toxic removed", proxy=proxy)
    return Changed(toxic_command(proxy, "remove_toxics"))


def _read(proxy: str, control: IProxyControl, name: str, request: Request) -> Any:
    for toxic in control.toxics():
        if toxic["name"] == name:
            return toxic
    raise APIError(404, "url", "toxic", f"no toxic {name!r} on proxy {proxy!r}")


def _update(proxy: str, control: IProxyControl, name: str, request: Request) -> Any:
    body = _fields(json_body(request), _UPDATE_FIELDS)
    arguments = {"name": name, "attributes": body.get("attributes"),
                 "toxicity": body.get("toxicity")}
    shown = _refused(control.update_toxic, **arguments)
    _log.info("proxy {proxy}: toxic {toxic} changed", proxy=proxy, toxic=shown)
    return Changed(toxic_command(proxy, "update_toxic", **arguments), shown)


def _remove(proxy: str, control: IProxyControl, name: str, request: Request) -> Any:
    _refused(control.remove_toxic, name=name)
    _log.info("proxy {proxy}: toxic {name} removed", proxy=proxy, name=name)
    return Changed(toxic_command(proxy, "remove_toxic", name=name))


def _fields(body: Mapping[str, Any], allowed: tuple[str, ...]) -> Mapping[str, Any]:
    unknown = sorted(key for key in body if key not in allowed)
    if unknown:
        raise APIError(400, "body", unknown[0],
                       f"unknown field {unknown[0]!r}; the fields are {', '.join(allowed)}")
    attributes = body.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        raise APIError(400, "body", "attributes",
                       'attributes is an object: {"attributes": {"latency": 100}}')
    return body


def _refused(method: Callable[..., Any], **arguments: Any) -> Any:
    """Call C{method}; its refusal as the API's 4xx."""
    try:
        return method(**arguments)
    except NotFound as e:
        raise APIError(404, "url", "toxic", str(e)) from None
    except Conflict as e:
        raise APIError(409, "body", "name", str(e)) from None
    except ConfigError as e:
        message = str(e)
        field = next((word for word in _FIELD_WORDS if word in message), "name")
        raise APIError(400, "body", "attributes" if field == "attribute" else field,
                       message) from None


#: The toxic routes of one proxy: path (after C{/proxies/NAME/}, any toxic
#: name as C{NAME}) to its methods.
TOXIC_ROUTES: Mapping[str, Mapping[str, Callable[..., Any]]] = {
    "toxics": {"GET": _list, "POST": _add, "DELETE": _remove_all},
    "toxics/NAME": {"GET": _read, "PUT": _update, "POST": _update, "PATCH": _update,
                    "DELETE": _remove},
}
