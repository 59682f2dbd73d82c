"""Our X-Twilio-Signature agrees with twilio-python's RequestValidator, the reference implementation."""

from __future__ import annotations

import random
import string

import pytest
from twilio.request_validator import RequestValidator

from repairtext.adapters.providers.twilio_signature import compute_signature, is_valid_signature

TOKEN = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
ALPHABET = (string.ascii_letters + string.digits + " +-_.:/?&=%#@!*'()[]{}<>\"\\\n\t"
            + "éüñçßÅ€£¥ØΔΩ中文한국어😀👍🏽\u200b\u0301")


class Form(dict):
    """A form with repeated names, in the shape RequestValidator reads (getlist, like Django's QueryDict)."""

    def __init__(self, pairs):
        super().__init__()
        self.pairs = list(pairs)
        for name, value in self.pairs:
            self.setdefault(name, value)

    def getlist(self, name):
        return [v for n, v in self.pairs if n == name]


def random_text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, longest)))


def random_form(rng: random.Random) -> list[tuple[str, str]]:
    names = [random_text(rng, 12) or "Body" for _ in range(rng.randint(0, 8))]
    names += rng.sample(["MessageSid", "From", "To", "Body", "MediaUrl0", "NumMedia"], rng.randint(0, 3))
    pairs = [(name, random_text(rng, 40)) for name in names]
    for _ in range(rng.randint(0, 3)):  # repeated names, sometimes with a repeated value too
        if pairs:
            name, value = rng.choice(pairs)
            pairs.append((name, value if rng.random() < 0.3 else random_text(rng, 20)))
    rng.shuffle(pairs)
    return pairs


def random_url(rng: random.Random) -> str:
    scheme = rng.choice(["http", "https"])
    host = rng.choice(["example.com", "texts.fixit-phones.example", "127.0.0.1", "sub.domain.example.org"])
    port = rng.choice(["", ":8443", ":8000", ":443" if scheme == "https" else ":80"])
    path = rng.choice(["/webhooks/twilio/inbound", "/webhooks/twilio/status", "/", "/a%20b/ü"])
    query = rng.choice(["", "?shop=1", "?a=1&b=2&a=3", "?q=" + "%F0%9F%98%80"])
    return f"{scheme}://{host}{port}{path}{query}"


CASES = [(random_url(random.Random(seed)), random_form(random.Random(seed * 7919))) for seed in range(400)]


def test_the_random_cases_cover_what_matters():
    assert any(len({n for n, _ in form}) < len(form) for _, form in CASES)  # repeated names
    assert any(not all(ord(c) < 128 for n, v in form for c in n + v) for _, form in CASES)  # unicode
    assert any(not form for _, form in CASES)  # an empty form
    assert {":443" in u or ":80/" in u for u, _ in CASES} == {True, False}  # default port written or not
    assert any(":8443" in u for u, _ in CASES) and any("?" in u for u, _ in CASES)


def test_our_signature_equals_twilios_on_random_forms():
    validator = RequestValidator(TOKEN)
    for url, form in CASES:
        assert compute_signature(TOKEN, url, form) == validator.compute_signature(url, Form(form)), (url, form)


def test_each_side_accepts_the_others_signature_on_random_forms():
    validator = RequestValidator(TOKEN)
    for url, form in CASES:
        ours, theirs = compute_signature(TOKEN, url, form), validator.compute_signature(url, Form(form))
        assert is_valid_signature(TOKEN, url, form, theirs), (url, form)
        assert validator.validate(url, Form(form), ours), (url, form)


def test_both_refuse_a_changed_value_an_added_parameter_another_token_or_url():
    validator = RequestValidator(TOKEN)
    rng = random.Random(42)
    checked = 0
    for url, form in CASES:
        if not form:
            continue
        good = validator.compute_signature(url, Form(form))
        index = rng.randrange(len(form))
        changed = [(n, v + "x") if i == index else (n, v) for i, (n, v) in enumerate(form)]
        added = form + [("Injected", "1")]
        for bad_form in (changed, added):
            assert not is_valid_signature(TOKEN, url, bad_form, good)
            assert not validator.validate(url, Form(bad_form), good)
        other = RequestValidator("another-token").compute_signature(url, Form(form))
        assert not is_valid_signature(TOKEN, url, form, other)
        moved = url.replace("/webhooks/", "/hooks/") if "/webhooks/" in url else url + "x"
        assert not is_valid_signature(TOKEN, moved, form, good)
        assert not validator.validate(moved, Form(form), good)
        checked += 1
    assert checked > 300


def test_order_of_parameters_does_not_matter_but_each_distinct_value_does():
    form = [("MediaUrl", "https://b"), ("Body", "hi"), ("MediaUrl", "https://a")]
    signed = compute_signature(TOKEN, "https://example.com/in", form)
    assert compute_signature(TOKEN, "https://example.com/in", list(reversed(form))) == signed
    # RequestValidator signs each distinct value once, sorted (Twilio's servers agree with it).
    assert compute_signature(TOKEN, "https://example.com/in", form + [("Body", "hi")]) == signed
    assert compute_signature(TOKEN, "https://example.com/in", form + [("Body", "hi!")]) != signed


def test_twilios_documented_example():
    """The example of Twilio's security docs and twilio-python's own tests."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    form = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
            ("From", "+14158675309"), ("To", "+18005551212")]
    assert compute_signature("12345", url, form) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert is_valid_signature("12345", url, form, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_unicode_is_signed_as_utf8():
    form = [("Body", "Ça marche 👍🏽 — merci"), ("FromCity", "MÜNCHEN"), ("Ñame", "中文")]
    url = "https://example.com/webhooks/twilio/inbound"
    theirs = RequestValidator(TOKEN).compute_signature(url, Form(form))
    assert compute_signature(TOKEN, url, form) == theirs
    assert is_valid_signature(TOKEN, url, form, theirs)


@pytest.mark.parametrize("configured, signed_as", [
    ("https://example.com/webhooks/twilio/inbound", "https://example.com:443/webhooks/twilio/inbound"),
    ("https://example.com:443/webhooks/twilio/inbound", "https://example.com/webhooks/twilio/inbound"),
    ("http://example.com/webhooks/twilio/inbound", "http://example.com:80/webhooks/twilio/inbound"),
    ("http://example.com:80/webhooks/twilio/inbound?x=1", "http://example.com/webhooks/twilio/inbound?x=1"),
    ("https://example.com:8443/webhooks/twilio/inbound", "https://example.com:8443/webhooks/twilio/inbound"),
])
def test_a_default_port_may_be_present_or_absent_like_request_validator(configured, signed_as):
    form = [("Body", "hello"), ("From", "+12065550100")]
    signature = RequestValidator(TOKEN).compute_signature(signed_as, Form(form))
    assert is_valid_signature(TOKEN, configured, form, signature)
    assert RequestValidator(TOKEN).validate(configured, Form(form), signature)


def test_another_port_is_another_url():
    form = [("Body", "hello")]
    url = "https://example.com:8443/webhooks/twilio/inbound"
    for other in ("https://example.com:9443/webhooks/twilio/inbound", "https://example.com:443/webhooks/twilio/inbound",
                  "http://example.com:8443/webhooks/twilio/inbound"):
        signature = RequestValidator(TOKEN).compute_signature(other, Form(form))
        assert not is_valid_signature(TOKEN, url, form, signature), other
        assert not RequestValidator(TOKEN).validate(url, Form(form), signature), other


def test_a_non_default_port_is_never_dropped():
    """RequestValidator also accepts a signature over the URL with a non-default port removed (its
    remove_port strips any port). Twilio signs the URL it called, port included, so we do not."""
    form = [("Body", "hello")]
    url = "http://127.0.0.1:8000/webhooks/twilio/inbound"
    portless = RequestValidator(TOKEN).compute_signature("http://127.0.0.1/webhooks/twilio/inbound", Form(form))
    assert RequestValidator(TOKEN).validate(url, Form(form), portless)  # the reference's leniency
    assert not is_valid_signature(TOKEN, url, form, portless)


@pytest.mark.parametrize("signature", [None, "", " ", "RSOYDt4T1cUTdK1PDd93/VVr8B8", "RSOYDt4T1cUTdK1PDd93/VVr8B8=="])
def test_missing_or_malformed_signatures_are_refused(signature):
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    form = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
            ("From", "+14158675309"), ("To", "+18005551212")]
    assert not is_valid_signature("12345", url, form, signature)
