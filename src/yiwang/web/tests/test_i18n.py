"""The zh-Hans catalog is complete and compiled, and English pages carry no Chinese UI text."""

from __future__ import annotations

import gettext
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

import yiwang
from yiwang.web.tests.expected import CJK_PATTERN, NAV_BY_ACCOUNT

PACKAGE = Path(yiwang.__file__).resolve().parent
CATALOG = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = CATALOG / "django.po"
MO = CATALOG / "django.mo"
REFRESH = (
    "cd src/yiwang && DJANGO_SETTINGS_MODULE=yiwang.config.settings "
    "django-admin makemessages -l zh_Hans --ignore 'tests/*', translate, then "
    "django-admin compilemessages"
)


# --- a tiny .po reader (polib is not a dependency) -------------------------------------------
@dataclass
class Entry:
    line: int
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


def _unquote(s: str) -> str:
    assert s.startswith('"') and s.endswith('"'), s
    out, i, body = [], 0, s[1:-1]
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            out.append(escapes.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_po(path: Path) -> list[Entry]:
    """Entries in file order, the header (msgid "") first; obsolete (#~) entries skipped."""
    entries: list[Entry] = []
    cur: Entry | None = None
    key: tuple[str, int] | None = None
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            cur, key = None, None
            continue
        if line.startswith("#~"):
            continue
        if cur is None:
            cur = Entry(line=n)
            entries.append(cur)
        if line.startswith("#,"):
            cur.flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
        elif line.startswith("#"):
            continue
        elif m := re.match(r"(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])? (\".*\")$", line):
            name, idx, value = m.group(1), int(m.group(2) or 0), _unquote(m.group(3))
            key = (name, idx)
            if name == "msgstr":
                cur.msgstr[idx] = value
            else:
                setattr(cur, name, value)
        elif line.startswith('"') and key is not None:
            name, idx = key
            if name == "msgstr":
                cur.msgstr[idx] += _unquote(line)
            else:
                setattr(cur, name, getattr(cur, name) + _unquote(line))
    return entries


def _messages() -> list[Entry]:
    entries = parse_po(PO)
    assert entries and entries[0].msgid == "", "the .po has no header"
    return entries[1:]


PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")


# --- the catalog ------------------------------------------------------------------------------
def test_catalog_exists_and_is_configured():
    assert Path(settings.LOCALE_PATHS[0]).resolve() == (PACKAGE / "locale").resolve()
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert PO.exists(), f"missing {PO}; {REFRESH}"
    assert MO.exists(), f"missing {MO}; run django-admin compilemessages"


def test_header_says_simplified_chinese_with_one_plural_form():
    header = parse_po(PO)[0]
    assert "fuzzy" not in header.flags, "the .po header is still marked fuzzy"
    meta = dict(line.split(": ", 1) for line in header.msgstr[0].splitlines() if ": " in line)
    assert meta["Language"] == "zh_Hans"
    assert meta["Content-Type"] == "text/plain; charset=UTF-8"
    assert meta["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"


def test_every_message_is_translated_and_none_is_fuzzy():
    problems = []
    for e in _messages():
        if "fuzzy" in e.flags:
            problems.append(f"fuzzy {e.label}")
        expected = [0]  # nplurals=1: exactly one msgstr, also for plural messages
        if sorted(e.msgstr) != expected:
            problems.append(f"msgstr indexes {sorted(e.msgstr)} (want [0]) {e.label}")
        if not all(v.strip() for v in e.msgstr.values()):
            problems.append(f"untranslated {e.label}")
    assert not problems, f"{len(problems)} catalog problem(s); {REFRESH}:\n" + "\n".join(problems)


def test_translations_keep_placeholders_and_are_chinese():
    problems = []
    for e in _messages():
        want = sorted(PLACEHOLDER.findall(e.msgid))
        for i, value in e.msgstr.items():
            if sorted(PLACEHOLDER.findall(value)) != want:
                problems.append(f"placeholders {want} lost in msgstr[{i}] {e.label}")
        # Every UI string gets Chinese wording, except a few that are the same in both
        # languages (a bare code like "IP").
        if e.msgid not in {"IP"} and not re.search(CJK_PATTERN, e.msgstr.get(0, "")):
            problems.append(f"no Chinese in the translation {e.label}")
    assert not problems, "\n".join(problems)


def test_compiled_catalog_matches_the_po():
    with MO.open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    assert mo.info().get("plural-forms", "").replace(" ", "") == "nplurals=1;plural=0;"
    stale = []
    for e in _messages():
        key = f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt is not None else e.msgid
        plural = e.msgid_plural
        got = mo.ngettext(key, plural, 2) if plural is not None else mo.gettext(key)
        if got != e.msgstr[0]:
            stale.append(e.label)
    assert not stale, "django.mo is out of date; run django-admin compilemessages:\n" + "\n".join(
        stale
    )


@pytest.mark.skipif(
    os.environ.get("YIWANG_CHECK_CATALOG") != "1" or not shutil.which("xgettext"),
    reason="set YIWANG_CHECK_CATALOG=1 (needs gettext's xgettext) to check that the catalog "
    "covers every string in the source",
)
def test_catalog_covers_every_string_in_the_source(tmp_path, settings):
    """Runs makemessages on a copy of the package and checks nothing new came up."""
    from django.core.management import call_command

    copy = tmp_path / "yiwang"
    shutil.copytree(
        PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "tests", "*.mo", "static")
    )
    settings.LOCALE_PATHS = [copy / "locale"]
    cwd = Path.cwd()
    os.chdir(copy)
    try:
        call_command("makemessages", locale=["zh_Hans"], ignore_patterns=["tests/*"], verbosity=0)
    finally:
        os.chdir(cwd)
    fresh = parse_po(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")[1:]
    missing = [e.label for e in fresh if "fuzzy" in e.flags or not e.msgstr.get(0, "").strip()]
    assert not missing, f"strings not in the catalog yet; {REFRESH}:\n" + "\n".join(missing)


# --- rendered pages ---------------------------------------------------------------------------
def _cjk_outside_language_switch(html: str) -> list[str]:
    """CJK text in a page, leaving out the one label that must be Chinese on English pages:
    the button that switches to Chinese."""
    html = re.sub(r'(<button[^>]*data-lang="zh-hans"[^>]*>)中文(</button>)', r"\1\2", html)
    return sorted(set(re.findall(rf"{CJK_PATTERN}+", html)))


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/accounts/login/"])
def test_english_public_pages_have_no_chinese(english, url):
    response = english.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert 'data-lang="zh-hans" lang="zh-Hans">中文</button>' in html
    assert _cjk_outside_language_switch(html) == []


@pytest.mark.django_db
def test_english_login_errors_and_lockout_page_have_no_chinese(english):
    response = english.post("/accounts/login/", {"username": "nobody", "password": "wrong"})
    html = response.content.decode()
    assert "Wrong username or password." in html
    assert _cjk_outside_language_switch(html) == []

    request = RequestFactory().get("/accounts/login/")
    request.user = AnonymousUser()
    with translation.override("en"):
        html = render_to_string("accounts/locked.html", request=request)
    assert "Account locked" in html
    assert _cjk_outside_language_switch(html) == []


@pytest.mark.django_db
def test_english_navigation_and_headings_for_every_role(english):
    """Logged-in pages show data (department names are Chinese), so only the interface
    parts are checked: the navigation labels, the page heading and the title."""
    from yiwang import demo
    from yiwang.accounts.models import User

    demo.seed(residents=1, enterprises=1, policies=False, exchange=False, onestop=False)
    for username in NAV_BY_ACCOUNT:
        english.force_login(User.objects.get(username=username))
        html = english.get("/", follow=True).content.decode()
        nav = re.findall(r"<a [^>]*data-nav=\"\w+\"[^>]*>([^<]*)</a>", html)
        heading = re.findall(r"<h1>([^<]*)</h1>", html)
        title = re.findall(r"<title>([^<]*)</title>", html)
        for text in [*nav, *heading, *title]:
            assert not re.search(CJK_PATTERN, text), f"{username}: {text!r} in English"


@pytest.mark.django_db
def test_chinese_is_the_default_language(client):
    html = client.get("/").content.decode()
    assert '<html lang="zh-Hans">' in html
    assert "一网统管" in html and "登录" in html
    assert re.search(r'<button [^>]*data-lang="en"[^>]*>English</button>', html)


@pytest.mark.django_db
def test_pages_open_in_chinese_whatever_the_browser_until_english_is_chosen(client):
    zh = client.get("/", headers={"accept-language": "zh-CN,zh;q=0.9"}).content.decode()
    assert '<html lang="zh-Hans">' in zh
    en_browser = client.get("/", headers={"accept-language": "en-US,en;q=0.9"}).content.decode()
    assert '<html lang="zh-Hans">' in en_browser
    client.cookies["django_language"] = "en"
    assert '<html lang="en">' in client.get("/").content.decode()


def test_role_and_navigation_labels_are_translated():
    from yiwang.accounts.roles import Role
    from yiwang.web.navigation import NAV

    with translation.override("zh-hans"):
        zh = {str(r.label) for r in Role} | {str(i.label) for i in NAV}
        assert {"网格员", "指挥中心值班员", "审计管理员", "工作台", "审计日志"} <= zh
        untranslated = sorted(label for label in zh if not re.search(CJK_PATTERN, label))
        assert not untranslated, f"labels without a zh-Hans translation: {untranslated}"
    with translation.override("en"):
        assert "Audit log" in {str(i.label) for i in NAV}
