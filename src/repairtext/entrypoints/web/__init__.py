"""The staff pages and the customer portal.

Their paths take ids as `{name:id}`: at most 19 digits, so a longer run is simply no page (404). Starlette's own
`{name:id}` calls int() on any run of digits, and Python refuses more than 4,300 of them with a 500.
"""

from __future__ import annotations

from starlette.convertors import IntegerConvertor, register_url_convertor


class IdConvertor(IntegerConvertor):
    regex = "[0-9]{1,19}"


register_url_convertor("id", IdConvertor())
