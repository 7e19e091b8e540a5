"""The JSON parser of every API (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES): a nesting limit, a 400 with the reason."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json as drf_json

from common import bounded_json


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        parse_constant = drf_json.strict_constant if self.strict else None
        try:
            return bounded_json.loads(stream.read().decode(encoding), parse_constant=parse_constant)
        except bounded_json.TooDeep as exc:
            raise ParseError(str(exc)) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
