#!/usr/bin/python3
"""A Python microservice that authenticates each caller through token-sidecar.

Every call's `authorization` metadata and peer address go to the sidecar's
tokens.v1.Authenticator/Authenticate before the call is served:

  - the sidecar accepts: the handler runs with the caller's principal;
  - the sidecar refuses: UNAUTHENTICATED with the sidecar's message (it says
    why: missing, malformed, unknown, expired, revoked, user disabled);
  - the sidecar does not answer in time, or answers anything else:
    UNAVAILABLE. Fail closed: no call is served unauthenticated.

Run with the stubs of generate_stubs.sh on the path (see README.md):

  PYTHONPATH=gen /usr/bin/python3 greeter_server.py --sidecar 127.0.0.1:50052
"""

import argparse
import logging
import signal
import sys
import threading
from concurrent import futures

import grpc

import greeter_pb2
import greeter_pb2_grpc
from tokens.v1 import authenticator_pb2
from tokens.v1 import authenticator_pb2_grpc
from tokens.v1 import tokens_pb2

log = logging.getLogger("greeter")


def peer_host(peer):
    """The client's address from gRPC's peer string, without the port.

    "ipv4:10.0.0.7:51234" -> "10.0.0.7", "ipv6:[::1]:51234" -> "::1";
    anything else (a unix socket) -> "".
    """
    if peer.startswith("ipv4:"):
        return peer[len("ipv4:"):].rsplit(":", 1)[0]
    if peer.startswith("ipv6:"):
        return peer[len("ipv6:"):].rsplit(":", 1)[0].strip("[]")
    return ""


class SidecarAuthenticator:
    """Asks token-sidecar who the caller of a call is."""

    def __init__(self, sidecar_address, timeout_seconds):
        self._channel = grpc.insecure_channel(sidecar_address)
        self._stub = authenticator_pb2_grpc.AuthenticatorStub(self._channel)
        self._timeout = timeout_seconds

    def authenticate(self, context):
        """The caller's AuthenticateResponse, or aborts the call."""
        headers = [value for key, value in context.invocation_metadata() if key == "authorization"]
        if len(headers) > 1:
            # Proxies disagree on which copy counts; the sidecar and
            # token-service refuse repeated headers too.
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "more than one authorization header")
        request = authenticator_pb2.AuthenticateRequest(
            authorization=headers[0] if headers else "",
            client_address=peer_host(context.peer()),
        )
        try:
            return self._stub.Authenticate(request, timeout=self._timeout)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, error.details())
            # Never the token, never the header: only what went wrong.
            log.warning("sidecar did not authenticate: %s", error.code().name)
            context.abort(grpc.StatusCode.UNAVAILABLE, "authentication is unavailable")

    def close(self):
        self._channel.close()


class Greeter(greeter_pb2_grpc.GreeterServicer):
    def __init__(self, authenticator):
        self._authenticator = authenticator

    def Greet(self, request, context):
        principal = self._authenticator.authenticate(context)
        greeting = request.greeting or "Hello"
        return greeter_pb2.GreetResponse(
            message=f"{greeting}, {principal.user_id}",
            user_id=principal.user_id,
            role=tokens_pb2.Role.Name(principal.role),
            token_id=principal.token_id,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:50061",
                        help="host:port to serve on (port 0: any free port)")
    parser.add_argument("--sidecar", default="127.0.0.1:50052",
                        help="host:port of token-sidecar's Authenticator")
    parser.add_argument("--auth_timeout", type=float, default=0.2,
                        help="seconds to wait for the sidecar before answering UNAVAILABLE")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    authenticator = SidecarAuthenticator(args.sidecar, args.auth_timeout)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    greeter_pb2_grpc.add_GreeterServicer_to_server(Greeter(authenticator), server)
    port = server.add_insecure_port(args.listen)
    if port == 0:
        sys.exit(f"cannot listen on {args.listen}")
    server.start()
    host = args.listen.rsplit(":", 1)[0]
    log.info("listening on %s:%d", host, port)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(grace=5).wait()
    authenticator.close()


if __name__ == "__main__":
    main()
