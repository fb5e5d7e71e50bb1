"""The OpenAPI schema generates cleanly: no drf-spectacular warnings or errors, valid.

A warning usually means an integrator's client gets a worse schema (an enum named after
a hash, an untyped field, a missing component), so it is a failure here, as
``manage.py spectacular --fail-on-warn --validate`` would be.
"""

from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema


def test_schema_generates_without_warnings_or_errors():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    GENERATOR_STATS.reset()
    assert problems == []
    validate_schema(schema)


def test_meter_and_assignment_status_share_one_named_enum():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    assert components["ActivityStatusEnum"]["enum"] == ["active", "inactive"]
    for name in ("Meter", "MeterAssignment"):
        status = components[name]["properties"]["status"]
        assert status["allOf"] == [{"$ref": "#/components/schemas/ActivityStatusEnum"}]
