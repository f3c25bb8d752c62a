"""Keep secrets out of everything people or logs see: pages, notices, error lines, exports, logs.

A preset is written by the app's owner, but what llmchat says about it reaches every visitor (a
broken preset's line is on the page and in ``/config``) and every log reader. Secrets hide in
more places than ``api_key``: a server's URL (``https://user:pass@host/v1?token=...``), llama.cpp
flags in ``embedded.extra_args`` (``--api_key=...``, ``--hf_token ...``), keys of ``extra_body``,
HTTP headers. Two ways to keep them out, used together:

* **by structure**, where the value's shape is known: a URL is shown as
  ``scheme://host:port/path`` (:func:`display_url`), values of ``extra_args`` / ``extra_body``
  are masked leaving only flag and key names (:func:`mask`);
* **by content**, for free text (a server's error message, a child process's log): the known
  secret strings (:func:`url_secrets`, :func:`args_secrets`, :func:`mapping_secrets`), every URL
  found in it, anything shaped like a key, and ``name=value`` pairs whose name says "secret" are
  replaced (:func:`redact_text`).

Pure functions with no I/O, so every module uses the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

HIDDEN = "[hidden]"
MIN_SECRET_LEN = 4  # shorter "secrets" (a user "me") would turn ordinary words into [hidden]

# Words that make a setting, flag, header or field name a credential's name: "api_key", "hf_token",
# "Authorization", "X-Api-Key", "Cookie", "client_secret", "password"... but not "max_tokens",
# "top_k" or "keep_alive" (whole words only; a word may also end in key/token/secret: "apikey").
_SECRET_WORDS = frozenset(
    {
        "key", "keys", "apikey", "token", "secret", "secrets", "password", "passwd", "pass",
        "passphrase", "pwd", "auth", "authorization", "credential", "credentials", "cookie",
        "cookies", "bearer", "signature", "sig", "private",
    }
)  # fmt: skip
_SECRET_ENDINGS = ("key", "token", "secret", "password")

# Things that look like API keys: "sk-...", "hf_...", long opaque tokens, "Bearer xyz", "Basic xyz".
_KEYLIKE = re.compile(
    r"(?:\b(?:sk|pk|rk|hf|gsk|xai|ghp|gho|github_pat|glpat|xox[abp])[-_][A-Za-z0-9_\-*.]{6,})"
    r"|(?:\b(?:Bearer|Basic)\s+(?!\[hidden\])\S+)"
    r"|(?:\b[A-Za-z0-9]{40,}\b)"
)
# Anything written like a URL: a scheme, "://", then up to whitespace, a quote or a closing mark;
# a full stop, comma or Markdown's ** right after it belongs to the sentence.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://(?:[^\s'\"<>`)\]}]*[^\s'\"<>`)\]}.,;:!?*])?")
# name=value, "name": "value", name: value, --name value: the name is checked by is_secret_name;
# the value is only looked at (a lookahead), so a value that is not hidden is scanned for names too.
_ASSIGNMENT = re.compile(
    r"""(?P<name>--?[A-Za-z][\w.\-]*|(?P<q>["']?)[A-Za-z][\w.\-]*(?P=q))"""
    r"""(?P<sep>\s*[=:]\s*|\s+)"""
    r"""(?=(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s"',;&}\])]+))"""
)


def is_secret_name(name: str) -> bool:
    """Whether a setting, flag, header or field called ``name`` holds a credential."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)  # apiKey -> api_Key
    words = [word for word in re.split(r"[^a-z0-9]+", spaced.lower()) if word]
    return any(word in _SECRET_WORDS or word.endswith(_SECRET_ENDINGS) for word in words)


def display_url(url: str) -> str:
    """A server's address as people may see it: ``scheme://host:port/path``.

    No user name, password, query string or fragment: each of those may carry a credential
    (``https://user:pass@host``, ``?api_key=...``, ``?token=...``). Never raises.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = None
    if parts is None or not parts.scheme or not parts.netloc:
        # Not a URL with a host: keep what cannot be a credential, drop "user:pass@" if any.
        head = re.split(r"[?#]", text, maxsplit=1)[0]
        return head.rpartition("@")[2] if "@" in head else head
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme.lower()}://{host}{parts.path}"


def url_secrets(url: str | None) -> list[str]:
    """The strings in a URL that may be credentials: user name, password, query values, fragment."""
    if not url:
        return []
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return [url]
    found: list[str] = []
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        user, _, password = userinfo.partition(":")
        found += [userinfo, user, password]
    if parts.query:
        found.append(parts.query)
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            found += [value] if value else [name]
    if parts.fragment:
        found.append(parts.fragment)
    return _with_decoded(found)


def args_secrets(args: Iterable[Any]) -> list[str]:
    """Values of credential flags in a command line (``--api_key=x``, ``--hf_token x``), and the
    credentials of any URL among the arguments."""
    found: list[str] = []
    secret_next = False
    for arg in args:
        text = str(arg)
        if secret_next:
            found.append(text)
            secret_next = False
            continue
        if text.startswith("-"):
            name, eq, value = text.partition("=")
            if is_secret_name(name):
                if eq:
                    found.append(value)
                else:
                    secret_next = True
                continue
            text = value
        found += url_secrets(text) if "://" in text else []
    return _with_decoded(found)


def mapping_secrets(mapping: Mapping[Any, Any], _depth: int = 0) -> list[str]:
    """Values under credential-named keys (at any depth; headers included), and URL credentials."""
    found: list[str] = []
    if _depth > 20:
        return found
    for key, value in mapping.items():
        if is_secret_name(str(key)):
            found += _leaves(value)
        elif isinstance(value, Mapping):
            found += mapping_secrets(value, _depth + 1)
        elif isinstance(value, list | tuple):
            found += args_secrets(value)
        elif isinstance(value, str) and "://" in value:
            found += url_secrets(value)
    return _with_decoded(found)


def _leaves(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    if value is None or isinstance(value, bool):
        return []
    return [str(value), *str(value).split()[1:]]  # "Bearer abc": the token alone may be echoed


def _with_decoded(found: list[str]) -> list[str]:
    """The secrets as written and percent-decoded (a server may echo either), longest first."""
    every = {s for item in found for s in (item, unquote(item)) if len(s) >= MIN_SECRET_LEN}
    return sorted(every, key=len, reverse=True)


def mask(value: Any, _depth: int = 0) -> Any:
    """A value with every leaf that might be a credential replaced by ``[hidden]``.

    Kept: mapping keys, command-line flag names (``--api_key=[hidden]``), true/false/null and the
    shape (how many items) - enough to find the mistake in one's own file, nothing to steal.
    """
    if _depth > 20:
        return HIDDEN
    if isinstance(value, Mapping):
        return {str(key): mask(item, _depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_arg(item, _depth) for item in value]
    if value is None or isinstance(value, bool):
        return value
    return HIDDEN


def _mask_arg(item: Any, depth: int) -> Any:
    if isinstance(item, str) and re.fullmatch(r"--?[A-Za-z][\w\-]*(=.*)?", item, re.DOTALL):
        name, eq, _ = item.partition("=")
        return f"{name}={HIDDEN}" if eq else name
    return mask(item, depth + 1)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Text for people or logs with every secret taken out.

    ``secrets`` are strings known to be secret (a preset's key, its URL's password...); besides
    them, every URL is shortened to :func:`display_url`, anything shaped like a key is hidden, and
    so is the value of any ``name=value`` / ``name: value`` / ``--name value`` whose name says
    it is a credential.
    """
    text = _URL.sub(lambda match: display_url(match.group(0)), text)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and len(secret) >= MIN_SECRET_LEN:
            text = text.replace(secret, HIDDEN)
    text = _KEYLIKE.sub(HIDDEN, text)
    return _hide_assignments(text)


def _hide_assignments(text: str) -> str:
    out: list[str] = []
    done = 0  # text[:done] is in out
    for match in _ASSIGNMENT.finditer(text):
        if match.start() < done:
            continue  # inside a value just hidden
        name, sep, value = match.group("name"), match.group("sep"), match.group("value")
        if not sep.strip() and not name.startswith("-"):
            continue  # "the key refused": words, not an assignment
        if not is_secret_name(name.strip("-\"'")) or text.startswith(HIDDEN, match.end()):
            continue
        quote = value[0] if value[0] in "\"'" else ""
        out += [text[done : match.end()], f"{quote}{HIDDEN}{quote}"]
        done = match.end() + len(value)
    return "".join(out) + text[done:]
