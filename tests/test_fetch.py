"""Link-preview fetching against real local servers: what it fetches, and what it refuses."""

from __future__ import annotations

import datetime
import ipaddress
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tongzhou.chat import fetch as fetch_module
from tongzhou.chat.fetch import FetchRefused, fetch
from tongzhou.chat.opengraph import parse_preview

HTML = ("text/html", "application/xhtml+xml")
IMAGES = ("image/jpeg", "image/png", "image/gif", "image/webp")

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Server:
    httpd: ThreadingHTTPServer
    hits: list[dict[str, str]] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str = "/", scheme: str = "http", name: str = "127.0.0.1") -> str:
        return f"{scheme}://{name}:{self.port}{path}"


def send(
    handler: BaseHTTPRequestHandler,
    body: bytes,
    content_type: str = "text/html",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def redirect(location: str, status: int = 302) -> Route:
    return lambda h: send(h, b"", status=status, headers={"Location": location})


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """Start real HTTP(S) servers on 127.0.0.1; routes map a path to a handler function."""
    servers: list[Server] = []

    def start(routes: dict[str, Route], tls: ssl.SSLContext | None = None) -> Server:
        hits: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                hits.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
                route = routes.get(self.path.split("?")[0])
                try:
                    if route is None:
                        send(self, b"<title>nope</title>", status=404)
                    else:
                        route(self)
                except OSError:  # the client hung up, as it should on a refused fetch
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server = Server(httpd, hits)
        if tls is not None:

            def record_sni(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
                server.sni.append(name)

            tls.sni_callback = record_sni
            httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.httpd.shutdown()
        server.httpd.server_close()


OG_PAGE = """<!doctype html><html><head>
<meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>Fallback title</title>
<meta property="og:title" content="同舟共济：病友互助">
<meta property="og:description" content="  肺癌病友的经验分享，
  以及 &amp; 互助  ">
<meta property="og:image" content="/static/card.png">
<meta property="og:site_name" content="同舟">
</head><body><meta property="og:title" content="not from the body"></body></html>
"""


def test_page_with_og_tags_is_fetched_and_parsed(serve: Callable[..., Server], settings) -> None:
    body = OG_PAGE.encode("gbk")
    server = serve({"/article": lambda h: send(h, body)})  # charset only in the meta tag
    settings.LINK_PREVIEW_ALLOW_HOST = server.host

    got = fetch(server.url("/article?id=7"), accept=HTML, max_bytes=100_000)

    assert got.url == server.url("/article?id=7")
    assert (got.content_type, got.charset, got.body) == ("text/html", None, body)
    preview = parse_preview(got.body, got.charset, got.url)
    assert preview is not None
    assert preview.title == "同舟共济：病友互助"
    assert preview.description == "肺癌病友的经验分享， 以及 & 互助"
    assert preview.image_url == server.url("/static/card.png")
    assert preview.site_name == "同舟"
    hit = server.hits[0]
    assert hit["path"] == "/article?id=7"
    assert hit["host"] == server.host
    assert hit["accept-encoding"] == "identity"
    assert hit["user-agent"].startswith("Tongzhou link preview")


def test_redirect_within_the_allowed_host_is_followed(
    serve: Callable[..., Server], settings
) -> None:
    server = serve(
        {
            "/old": redirect("/new", 301),
            "/new": lambda h: send(h, b"\x89PNG...", content_type="image/png"),
        }
    )
    settings.LINK_PREVIEW_ALLOW_HOST = server.host

    got = fetch(server.url("/old"), accept=IMAGES, max_bytes=1000)

    assert (got.url, got.content_type, got.body) == (server.url("/new"), "image/png", b"\x89PNG...")
    assert [hit["path"] for hit in server.hits] == ["/old", "/new"]


def refused(url: str, accept: tuple[str, ...] = HTML, max_bytes: int = 100_000) -> str:
    with pytest.raises(FetchRefused) as caught:
        fetch(url, accept=accept, max_bytes=max_bytes)
    return caught.value.reason


def test_test_server_is_private_unless_allow_listed(serve: Callable[..., Server], settings) -> None:
    server = serve({"/": lambda h: send(h, b"<title>secret</title>")})
    settings.LINK_PREVIEW_ALLOW_HOST = ""
    assert refused(server.url()) == "private_address"
    # Another spelling of the same address is not the allow-listed host string.
    settings.LINK_PREVIEW_ALLOW_HOST = server.host
    assert refused(server.url(name="localhost")) == "private_address"
    assert refused(server.url(name="127.1")) == "private_address"
    settings.LINK_PREVIEW_ALLOW_HOST = f"127.0.0.1:{server.port + 1}"
    assert refused(server.url()) == "private_address"
    assert server.hits == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1]/", "private_address"),
        ("http://10.0.0.1/", "private_address"),
        ("http://192.168.1.1/", "private_address"),
        ("http://100.64.0.1/", "private_address"),  # carrier-grade NAT
        ("http://169.254.169.254/latest/meta-data/", "private_address"),
        ("http://0.0.0.0/", "private_address"),
        ("http://2130706433/", "private_address"),  # decimal 127.0.0.1
        ("http://0x7f.1/", "private_address"),
        ("http://[::ffff:127.0.0.1]/", "private_address"),
        ("http://[::ffff:a9fe:a9fe]/", "private_address"),  # mapped 169.254.169.254
        ("http://[2002:7f00:1::]/", "private_address"),  # 6to4 around 127.0.0.1
        ("http://[64:ff9b::a00:1]/", "private_address"),  # NAT64 around 10.0.0.1
        ("http://[fe80::1]/", "private_address"),
        ("http://[ff02::1]/", "private_address"),
        ("http://224.0.0.1/", "private_address"),
        ("http://255.255.255.255/", "private_address"),
        ("http://user:pw@example.com/", "credentials"),
        ("http://user@8.8.8.8/", "credentials"),
        ("http://8.8.8.8\\@127.0.0.1/", "credentials"),
        ("ftp://example.com/file", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("gopher://8.8.8.8:70/", "scheme"),
        ("//8.8.8.8/", "scheme"),
        ("http://8.8.8.8:22/", "port"),
        ("https://[::ffff:8.8.8.8]:6379/", "port"),  # a public mapped address is judged public
        ("http://8.8.8.8:99999/", "bad_url"),
        ("http:///nohost", "bad_url"),
        ("http://[::1/", "bad_url"),
        ("http://[fe80::1%25eth0]/", "bad_url"),
        ("http://nothing-here.invalid/", "dns"),
    ],
)
def test_refused_without_connecting(url: str, reason: str, settings) -> None:
    settings.LINK_PREVIEW_ALLOW_HOST = ""
    assert refused(url) == reason


def test_redirect_to_another_private_server_is_refused(
    serve: Callable[..., Server], settings
) -> None:
    secret = serve({"/secret": lambda h: send(h, b"<title>internal admin</title>")})
    server = serve({"/": redirect(secret.url("/secret"))})
    settings.LINK_PREVIEW_ALLOW_HOST = server.host

    assert refused(server.url()) == "private_address"
    assert len(server.hits) == 1
    assert secret.hits == []


def test_redirect_to_a_forbidden_scheme_is_refused(serve: Callable[..., Server], settings) -> None:
    server = serve({"/": redirect("file:///etc/passwd")})
    settings.LINK_PREVIEW_ALLOW_HOST = server.host
    assert refused(server.url()) == "scheme"


def test_redirect_loop(serve: Callable[..., Server], settings) -> None:
    server = serve({"/loop": redirect("/loop")})
    settings.LINK_PREVIEW_ALLOW_HOST = server.host
    settings.LINK_PREVIEW_MAX_REDIRECTS = 3
    assert refused(server.url("/loop")) == "too_many_redirects"
    assert len(server.hits) == 4  # the first request and three redirects


def endless(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.end_headers()
    handler.close_connection = True
    while True:
        handler.wfile.write(b"<p>more</p>" * 1000)


def test_endless_body_is_cut_off(serve: Callable[..., Server], settings) -> None:
    server = serve({"/": endless})
    settings.LINK_PREVIEW_ALLOW_HOST = server.host
    start = time.monotonic()
    assert refused(server.url(), max_bytes=200_000) == "too_large"
    assert time.monotonic() - start < 2


def test_large_content_length_is_refused_before_reading(
    serve: Callable[..., Server], settings
) -> None:
    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(10**9))
        handler.end_headers()
        time.sleep(5)

    server = serve({"/": huge})
    settings.LINK_PREVIEW_ALLOW_HOST = server.host
    start = time.monotonic()
    assert refused(server.url(), accept=IMAGES, max_bytes=5_000_000) == "too_large"
    assert time.monotonic() - start < 1


def drip(headers_first: bool) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n"
        if headers_first:
            handler.wfile.write(head)
            handler.wfile.flush()
            head = b""
        for byte in head + b"x" * 1000:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.3)

    return route


@pytest.mark.parametrize("headers_first", [True, False], ids=["body-drip", "header-drip"])
def test_slow_drip_hits_the_whole_fetch_deadline(
    serve: Callable[..., Server], settings, headers_first: bool
) -> None:
    server = serve({"/": drip(headers_first)})
    settings.LINK_PREVIEW_ALLOW_HOST = server.host
    settings.LINK_PREVIEW_TIMEOUT = 1.5
    start = time.monotonic()
    assert refused(server.url()) == "timeout"
    assert time.monotonic() - start < 3


def test_wrong_content_type_and_bad_status(serve: Callable[..., Server], settings) -> None:
    server = serve(
        {
            "/bin": lambda h: send(h, b"\x00\x01", content_type="application/octet-stream"),
            "/html": lambda h: send(
                h, b"<title>x</title>", content_type="text/html; charset=utf-8"
            ),
            "/gzip": lambda h: send(h, b"\x1f\x8b", headers={"Content-Encoding": "gzip"}),
            "/gone": lambda h: send(h, b"<title>gone</title>", status=410),
        }
    )
    settings.LINK_PREVIEW_ALLOW_HOST = server.host
    assert refused(server.url("/bin")) == "content_type"
    assert refused(server.url("/html"), accept=IMAGES) == "content_type"
    assert refused(server.url("/gzip")) == "content_type"
    assert refused(server.url("/missing")) == "status"
    assert refused(server.url("/gone")) == "status"
    got = fetch(server.url("/html"), accept=HTML, max_bytes=100)
    assert (got.content_type, got.charset) == ("text/html", "utf-8")


def test_closed_port_is_a_connection_refusal(settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.LINK_PREVIEW_ALLOW_HOST = f"127.0.0.1:{port}"
    assert refused(f"http://127.0.0.1:{port}/") == "connection"


# --- TLS: the connection goes to the pinned address, SNI and the certificate check use the name


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for the name "localhost" only (no IP address)."""
    now = datetime.datetime.now(datetime.UTC)

    def cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tongzhou test CA")])
    ca_cert = cert("Tongzhou test CA", ca_key, ca_name, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = cert("localhost", key, ca_name, ca_key, ca=False)
    d = tmp_path_factory.mktemp("tls")
    (d / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (d / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return d / "ca.pem", d / "leaf.pem", d / "key.pem"


@pytest.fixture
def tls_server(
    serve: Callable[..., Server], tls_files: tuple[Path, Path, Path], monkeypatch
) -> Server:
    ca, leaf, key = tls_files
    monkeypatch.setattr(fetch_module, "CA_CERTS", str(ca))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(leaf, key)
    return serve({"/": lambda h: send(h, b"<title>tls</title>")}, tls=context)


def test_https_pins_the_address_and_verifies_the_name(tls_server: Server, settings) -> None:
    if socket.getaddrinfo("localhost", 443, type=socket.SOCK_STREAM)[0][4][0] != "127.0.0.1":
        pytest.skip("localhost does not resolve to 127.0.0.1 first here")
    settings.LINK_PREVIEW_ALLOW_HOST = f"localhost:{tls_server.port}"

    got = fetch(tls_server.url(scheme="https", name="localhost"), accept=HTML, max_bytes=1000)

    assert got.body == b"<title>tls</title>"
    assert tls_server.sni == ["localhost"]
    assert tls_server.hits[0]["host"] == f"localhost:{tls_server.port}"


def test_https_certificate_for_another_name_is_refused(tls_server: Server, settings) -> None:
    settings.LINK_PREVIEW_ALLOW_HOST = tls_server.host
    assert refused(tls_server.url(scheme="https")) == "connection"
    assert tls_server.hits == []


def test_https_untrusted_certificate_is_refused(tls_server: Server, settings, monkeypatch) -> None:
    monkeypatch.setattr(fetch_module, "CA_CERTS", None)
    settings.LINK_PREVIEW_ALLOW_HOST = f"localhost:{tls_server.port}"
    assert refused(tls_server.url(scheme="https", name="localhost")) == "connection"
    assert tls_server.hits == []


# --- parse_preview


def test_title_falls_back_to_the_title_element() -> None:
    page = b"<html><head><title>\n  Plain   title\x07 </title></head><body>x</body></html>"
    preview = parse_preview(page, "utf-8", "https://news.example/a/b")
    assert preview is not None
    assert (preview.title, preview.description) == ("Plain title", "")
    assert (preview.image_url, preview.site_name) == ("", "news.example")


def test_description_is_cut_with_an_ellipsis_and_images_are_resolved() -> None:
    long = "病" * 500
    page = f"""<head><meta name="description" content="{long}">
    <meta name="twitter:title" content="T\u202eitle">
    <meta property="og:image" content="javascript:alert(1)">
    <meta property="og:image:secure_url" content="../img/c.jpg">
    </head>""".encode()
    preview = parse_preview(page, None, "https://site.example/a/b/page.html")
    assert preview is not None
    assert preview.title == "Title"
    assert len(preview.description) == 300
    assert preview.description == "病" * 299 + "…"
    assert preview.image_url == "https://site.example/a/img/c.jpg"


def test_only_unsafe_images_leave_no_image() -> None:
    page = b"""<meta property="og:title" content="x">
    <meta property="og:image" content="javascript:alert(1)">
    <meta name="twitter:image" content="data:image/png;base64,AAAA">"""
    preview = parse_preview(page, None, "https://site.example/")
    assert preview is not None
    assert preview.image_url == ""


def test_charset_argument_wins_and_gb2312_reads_as_gb18030() -> None:
    # "𠀀" (U+20000) exists in GB18030 only; pages labelled gb2312 use such characters.
    page = "<title>同舟 𠀀</title>".encode("gb18030")
    preview = parse_preview(page, "GB2312", "http://x.example/")
    assert preview is not None and preview.title == "同舟 𠀀"
    unknown = parse_preview("<title>同舟</title>".encode(), "no-such-codec", "http://x.example/")
    assert unknown is not None and unknown.title == "同舟"
    not_text = parse_preview(b"<title>plain</title>", "base64", "http://x.example/")
    assert not_text is not None and not_text.title == "plain"


def test_page_without_title_or_description_has_no_preview() -> None:
    page = b"<html><head><meta property='og:image' content='/a.png'></head><body><h1>Hi</h1>"
    assert parse_preview(page, "utf-8", "https://site.example/") is None
    assert parse_preview(b"", None, "https://site.example/") is None


def test_garbage_never_raises() -> None:
    rnd = random.Random(20260101)
    pieces = [b"<", b">", b"<meta", b" property='og:title'", b" content=", b'"', b"<![", b"<!--"]
    pieces += [
        b"<title>",
        b"</title>",
        b"&#x",
        b"\x00",
        b"\xff\xfe",
        b"\xe4\xb8",
        b"<body>",
        b"]]>",
    ]
    for _ in range(2000):
        garbage = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(300)))
        assert parse_preview(garbage, rnd.choice([None, "gbk", "utf-16"]), "http://[::1") is None
        markup = b"".join(rnd.choice(pieces) for _ in range(rnd.randrange(40)))
        parse_preview(markup, None, "https://site.example/")
    # html.parser asserts on some "<![" sections; what was read before still counts.
    preview = parse_preview(b"<title>kept</title><![bogus", None, "https://site.example/")
    assert preview is not None and preview.title == "kept"


def test_internal_address_checks_agree_with_ipaddress() -> None:
    assert fetch_module._public("8.8.8.8")
    assert fetch_module._public("2606:4700:4700::1111")
    assert fetch_module._public("::ffff:8.8.8.8")
    for private in ipaddress.ip_network("127.0.0.0/30"):
        assert not fetch_module._public(str(private))
    assert not fetch_module._public("2001:0:4136:e378:8000:63bf:3fff:fdd2")  # Teredo
