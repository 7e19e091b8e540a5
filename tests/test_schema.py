"""The OpenAPI schema is valid and complete, and its Swagger UI works offline (no CDN)."""

import json
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

SCHEMA_URL = "/api/schema/"
DOCS_URL = "/api/docs/"

EXPECTED_OPERATIONS = {
    "/api/v1/requests/": {"get", "post"},
    "/api/v1/requests/{id}/": {"get"},
    "/api/v1/requests/{id}/withdraw/": {"post"},
    "/api/v1/port25/": {"get"},
    "/api/v1/platform/servers/{external_id}/": {"get", "put", "delete"},
}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
def schema(client, db) -> dict:
    response = client.get(SCHEMA_URL, {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


# --- the schema -------------------------------------------------------------------------------


def test_schema_endpoint_serves_yaml_openapi_3(client, db):
    response = client.get(SCHEMA_URL)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == settings.SPECTACULAR_SETTINGS["TITLE"]


def test_schema_validates_against_the_openapi_3_json_schema(schema):
    validate_schema(schema)  # raises jsonschema.ValidationError


def test_schema_lists_the_api_operations(schema):
    found = {path: {m for m in item if m in HTTP_METHODS} for path, item in schema["paths"].items()}

    for path, methods in EXPECTED_OPERATIONS.items():
        assert path in found, f"{path} missing from the schema"
        assert methods == found[path], path


def test_schema_leaves_out_non_api_urls(schema):
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


def test_platform_endpoint_requires_the_bearer_token_only(schema):
    schemes = schema["components"]["securitySchemes"]
    platform_schemes = set()
    for operation in schema["paths"]["/api/v1/platform/servers/{external_id}/"].values():
        for requirement in operation["security"]:
            platform_schemes.update(requirement)

    assert platform_schemes == {"platformToken"}
    assert schemes["platformToken"] == {"type": "http", "scheme": "bearer"}


def test_customer_endpoints_do_not_accept_the_platform_token(schema):
    for path in EXPECTED_OPERATIONS:
        if path.startswith("/api/v1/platform/"):
            continue
        for operation in schema["paths"][path].values():
            names = {name for requirement in operation["security"] for name in requirement}
            assert "platformToken" not in names, path
            assert names & {"tokenAuth", "cookieAuth"}, path


def test_accept_aup_is_required_on_input_and_absent_on_output(schema):
    components = schema["components"]["schemas"]
    request_body = schema["paths"]["/api/v1/requests/"]["post"]["requestBody"]["content"]["application/json"]
    input_name = request_body["schema"]["$ref"].rsplit("/", 1)[-1]

    assert "accept_aup" in components[input_name]["properties"]
    assert "accept_aup" in components[input_name]["required"]
    assert "accept_aup" not in components["UnblockRequest"]["properties"]
    assert "status" not in components[input_name]["properties"]


def test_port25_state_is_an_enum_of_the_known_states(schema):
    state = schema["components"]["schemas"]["Port25Status"]["properties"]["state"]
    enum = schema["components"]["schemas"][state["$ref"].rsplit("/", 1)[-1]]["enum"]

    assert set(enum) == {"blocked", "pending", "open", "revoked"}


def test_spectacular_command_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    assert yaml.safe_load(target.read_text())["paths"].keys() >= EXPECTED_OPERATIONS.keys()


# --- the Swagger UI ---------------------------------------------------------------------------


class _AssetCollector(HTMLParser):
    """URLs a browser would fetch: script src, link href, img src, and inline script text."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[tuple[str, str]] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self._in_script = True
            if values.get("src"):
                self.assets.append((tag, values["src"]))
        elif tag == "link" and values.get("href"):
            self.assets.append((tag, values["href"]))
        elif tag in ("img", "iframe") and values.get("src"):
            self.assets.append((tag, values["src"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_scripts.append(data)


@pytest.fixture
def docs_page(client, db) -> _AssetCollector:
    response = client.get(DOCS_URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    parser = _AssetCollector()
    parser.feed(response.content.decode())
    return parser


def test_docs_page_loads_swagger_ui_without_inline_script(client, docs_page):
    """The content security policy allows no inline script: the initialiser is a script of its own."""
    sources = [url for tag, url in docs_page.assets if tag == "script"]
    assert any(url.endswith("swagger-ui-bundle.js") for url in sources)
    assert not [script for script in docs_page.inline_scripts if script.strip()]
    initialiser = next(url for url in sources if "script=" in url)
    assert SCHEMA_URL in client.get(initialiser).content.decode()


def test_docs_page_references_only_local_assets(docs_page):
    assert docs_page.assets
    for tag, url in docs_page.assets:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"<{tag}> loads {url} from another host"


def test_docs_assets_exist_as_static_files(docs_page):
    prefix = "/" + settings.STATIC_URL.lstrip("/")
    static = [url for _tag, url in docs_page.assets if "script=" not in url]
    assert static
    for url in static:
        path = urlsplit(url).path
        assert path.startswith(prefix), f"{url} is not served from {prefix}"
        assert finders.find(path.removeprefix(prefix)), f"{url} is not a static file"
