"""The address of the person at the other end, for the login lockout (django-axes).

Behind a load balancer, REMOTE_ADDR is the balancer's own address; each trusted proxy appends
to X-Forwarded-For the address it received the request from. With TRUSTED_PROXY_COUNT = n,
the client is the n-th entry from the right: the address the outermost trusted proxy saw.
Entries further left were written by the client and are never believed. Without the header
(a request that came by no proxy), or with an entry that is not an address, the client is the
nearest peer, REMOTE_ADDR: never a value the client chose, never empty.
"""

import ipaddress

from django.conf import settings

UNKNOWN = "0.0.0.0"  # a peer without an address (not seen with gunicorn over TCP)


def client_ip(request):
    peer = parse(request.META.get("REMOTE_ADDR", "")) or UNKNOWN
    count = settings.TRUSTED_PROXY_COUNT
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not count or not header:
        return peer
    entries = [entry.strip() for entry in header.split(",")]
    # Fewer entries than proxies: the leftmost was still written by a trusted proxy.
    return parse(entries[-count] if len(entries) >= count else entries[0]) or peer


def parse(entry):
    """The address in `entry` ("203.0.113.7", "203.0.113.7:5123", "[2001:db8::1]:443"),
    normalised, or None."""
    candidates = [entry]
    if entry.startswith("[") and "]" in entry:
        candidates.append(entry[1 : entry.index("]")])
    elif entry.count(":") == 1:
        candidates.append(entry.split(":")[0])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None
