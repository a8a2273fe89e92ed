"""Hashtag extraction with twitter-text's rules, and tag keys.

The scalar functions follow twitter-text's ``extractHashtagsWithIndices`` (the JS reference
implementation, whose conformance cases are in ``tests/fixtures/twitter-text``) rule by rule:

* a tag starts with ``#`` or ``＃`` at the start of the text, after U+FE0E / U+FE0F, or after a
  code point that is neither a *tag character* nor ``&`` (so ``&#39;`` is no tag);
* the sign must not be followed by U+FE0F or U+20E3 (the keycap emoji ``#️⃣``);
* the tag is the whole run of tag characters after the sign: letters and marks (Unicode ``L*``,
  ``M*``), decimal digits (``Nd``), and twitter-text's joiners (``_``, ZWNJ, ZWJ, U+A67E, U+05BE,
  U+05F3, U+05F4, U+FF5E, U+301C, U+309B, U+309C, U+30A0, U+30FB, U+3003, U+0F0B, U+0F0C,
  U+00B7); it must hold at least one letter or mark (``#2026`` is no tag);
* a run followed by ``#``, ``＃`` or ``://`` is no tag (and is consumed, as the JS regex does);
* a tag that overlaps a URL (twitter-text's own URL extraction, e.g. ``example.com/#frag``) is
  dropped.

The character classes are built once from :mod:`unicodedata` (the Unicode version of this
Python), and the same classes feed the vectorised polars path, so the batch functions agree with
the scalar ones exactly. twitter-text's regexes are case-insensitive (``/i``); that adds nothing
to the tag classes (checked in the tests) and is emulated for the URL classes and TLDs.

Indices are code points (Python string indices), ``[start, end)`` from the sign to the tag end.

A *tag key* (the unit of every count) is :func:`tag_key`: NFKC, then full case folding.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import polars as pl

from indexer.schema import tag_key as schema_tag_key

__all__ = [
    "extract_hashtags",
    "extract_hashtags_batch",
    "extract_hashtags_with_indices",
    "is_valid_hashtag",
    "needs_slow_path",
    "tag_key",
    "tag_keys",
    "tag_keys_batch",
]

# ---------------------------------------------------------------------------------------------
# Character sets (sets of code points) and their rendering as regex classes.

_HASH_SIGNS = "#＃"
# twitter-text's hashtagSpecialChars: joiners and punctuation allowed inside a tag.
_SPECIAL = "_\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c\u30a0\u30fb\u3003\u0f0b"
_SPECIAL += "\u0f0c\xb7"
_VARIATION = (0xFE0E, 0xFE0F)  # a tag may start right after these (emoji styles)
_NO_TAG_AFTER_SIGN = (0xFE0F, 0x20E3)  # "#" + these is the keycap emoji

Ranges = tuple[tuple[int, int], ...]  # sorted, disjoint, inclusive code point ranges


def _ranges(cps: Iterable[int]) -> Ranges:
    out: list[tuple[int, int]] = []
    for cp in sorted(set(cps)):
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return tuple(out)


def _union(*parts: Iterable[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for a, b in sorted(r for part in parts for r in part):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return tuple(out)


def _without(ranges: Ranges, cps: Iterable[int]) -> Ranges:
    out = list(ranges)
    for cp in cps:
        for i, (a, b) in enumerate(out):
            if a <= cp <= b:
                out[i : i + 1] = [r for r in ((a, cp - 1), (cp + 1, b)) if r[0] <= r[1]]
                break
    return tuple(out)


# Planes 4-13 have no characters, and planes 15-16 are private use (checked in the tests).
_SCANNED_PLANES = (range(0x40000), range(0xE0000, 0xF0000))


def _category_ranges() -> tuple[Ranges, Ranges]:
    """(letters and marks, decimal digits) of this Python's Unicode data."""
    kinds: dict[str, str] = defaultdict(lambda: ".")
    kinds.update(dict.fromkeys(("Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me"), "a"), Nd="d")
    alpha: list[tuple[int, int]] = []
    digits: list[tuple[int, int]] = []
    for plane in _SCANNED_PLANES:
        codes = "".join(map(kinds.__getitem__, map(unicodedata.category, map(chr, plane))))
        first = plane.start
        alpha += ((first + m.start(), first + m.end() - 1) for m in re.finditer("a+", codes))
        digits += ((first + m.start(), first + m.end() - 1) for m in re.finditer("d+", codes))
    return tuple(alpha), tuple(digits)


# Letters and marks (a tag needs one), and the other tag characters: decimal digits and
# twitter-text's joiners. Tag characters are both.
_ALPHA, _DIGITS = _category_ranges()
_NON_ALPHA = _union(_DIGITS, _ranges(map(ord, _SPECIAL)))
_ALNUM = _union(_ALPHA, _NON_ALPHA)


def _py_char(cp: int) -> str:
    return chr(cp) if chr(cp).isalnum() and cp < 0x80 else f"\\U{cp:08x}"


def _rs_char(cp: int) -> str:
    return chr(cp) if chr(cp).isalnum() and cp < 0x80 else f"\\x{{{cp:X}}}"


def _py_class(ranges: Ranges, negate: bool = False) -> str:
    """A Python regex class. One with astral ranges is split in two (BMP | astral): ``re`` checks
    astral ranges one by one after its BMP bitmap, which made every BMP miss slow."""
    bmp = tuple((a, min(b, 0xFFFF)) for a, b in ranges if a <= 0xFFFF)
    astral = tuple((max(a, 0x10000), b) for a, b in ranges if b > 0xFFFF)
    if astral and not negate:
        return f"(?:{_py_set(bmp)}|(?={_py_set(((0x10000, 0x10FFFF),))}){_py_set(astral)})"
    return _py_set(ranges, negate)


def _py_set(ranges: Ranges, negate: bool = False) -> str:
    body = "".join(_py_char(a) if a == b else f"{_py_char(a)}-{_py_char(b)}" for a, b in ranges)
    return f"[{'^' if negate else ''}{body}]"


def _rs_class(ranges: Ranges, negate: bool = False) -> str:
    body = "".join(_rs_char(a) if a == b else f"{_rs_char(a)}-{_rs_char(b)}" for a, b in ranges)
    return f"[{'^' if negate else ''}{body}]"


# ---------------------------------------------------------------------------------------------
# Scalar extraction.

# A sign, not followed by U+FE0F / U+20E3, and the run of tag characters after it.
_SIGN_RUN_RE = re.compile(
    f"[{_HASH_SIGNS}](?!{_py_class(_ranges(_NO_TAG_AFTER_SIGN))})({_py_class(_ALNUM)}+)"
)
_DROP_SPECIALS = str.maketrans(dict.fromkeys(map(ord, _SPECIAL)))
_ASCII_BOUNDARY = frozenset(
    chr(cp) for cp in range(0x80) if not (chr(cp).isalnum() or chr(cp) in "_&")
)


def _is_boundary(ch: str) -> bool:
    """May a tag's sign follow ``ch``? Anything but a tag character or "&" (U+FE0E/U+FE0F may)."""
    if ch < "\x80":
        return ch in _ASCII_BOUNDARY
    if ch in "\ufe0e\ufe0f":
        return True
    if ch in _SPECIAL:
        return False
    category = unicodedata.category(ch)
    return category[0] not in "LM" and category not in ("Nd", "Cs")


def _has_letter_or_mark(run: str) -> bool:
    """Whether a run of tag characters holds a letter or mark (not only digits and joiners)."""
    rest = run.translate(_DROP_SPECIALS)
    return bool(rest) and not rest.isdecimal()  # isdecimal: every character is Nd


_NOT_AFTER_TAG = ("#", "＃", "://")
# twitter-text's spaces: no URL contains one.
_JS_SPACES = frozenset(
    [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, 0x180E, *range(0x2000, 0x200B), 0x2028]
) | frozenset([0x2029, 0x202F, 0x205F, 0x3000])
_SPACE_RE = re.compile(_py_class(_ranges(_JS_SPACES)))


def _coverable(run: str, signs: list[int]) -> list[int]:
    """The ``signs`` (indices in ``run``, which holds no spaces) that a URL in ``run`` could
    cover, that is start before and end after.

    Before such a sign, the run holds ``://`` (a URL with protocol), or a dot, then a ``/`` or
    ``?`` (a domain, then a path or query, which may hold "#" but not "＃"); or, for a sign "＃",
    a dot before it and a "/" after it (a URL without protocol runs from an ASCII domain over
    the rest of its domain, which may hold "＃", when it has a path).
    """
    proto = run.find("://")
    dot = run.find(".")
    cut = min((i for i in (run.find("/", dot), run.find("?", dot)) if i >= 0), default=-1)
    return [
        sign
        for sign in signs
        if 0 <= proto < sign
        or (0 <= dot < sign and (0 <= cut < sign if run[sign] == "#" else "/" in run[sign:]))
    ]


def _runs_near_urls(text: str, tags: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """The runs (between spaces) of ``text`` in which a URL could cover one of ``tags``.

    Only there can a URL remove a tag: URLs hold no spaces. The whole text is looked at first
    (a run holds what a URL needs only if the text does), so most tags need no run.
    """
    signs = _coverable(text, [sign for _, sign, _ in tags])
    runs: list[tuple[int, int]] = []
    end = 0
    for sign in signs:
        if sign < end:
            continue  # in the run of a sign before, looked at with all of its signs
        space = _SPACE_RE.search(text, sign)
        end = space.start() if space is not None else len(text)
        start = sign
        while start and ord(text[start - 1]) not in _JS_SPACES:
            start -= 1
        in_run = signs[bisect.bisect_left(signs, start) : bisect.bisect_left(signs, end)]
        if _coverable(text[start:end], [s - start for s in in_run]):
            runs.append((start, end))
    return runs


def extract_hashtags_with_indices(text: str) -> list[tuple[str, int, int]]:
    """The hashtags of ``text`` as ``(tag, start, end)``, in order of appearance.

    ``tag`` is the tag as written, without its ``#``/``＃``; ``start`` is the code-point index
    of the sign and ``end`` that of the first character after the tag, so ``text[start + 1:end]
    == tag``. Same result as twitter-text's ``extractHashtagsWithIndices``.
    """
    if "#" not in text and "＃" not in text:
        return []
    tags: list[tuple[str, int, int]] = []
    # twitter-text's regex consumes (boundary char, sign, run); a sign whose boundary char was
    # consumed by the previous match, accepted or not, starts no tag.
    consumed = 0
    for m in _SIGN_RUN_RE.finditer(text):
        sign = m.start()
        if sign and (sign - 1 < consumed or not _is_boundary(text[sign - 1])):
            continue
        tag = m.group(1)
        if not _has_letter_or_mark(tag):
            continue  # no match here (nothing consumed), and none can start inside the run
        consumed = end = m.end()
        if text.startswith(_NOT_AFTER_TAG, end):
            continue  # consumed but rejected, like the JS callback does
        tags.append((tag, sign, end))
    if tags:
        signs = [sign for _, sign, _ in tags]
        dropped: set[int] = set()
        for start, end in _runs_near_urls(text, tags):
            # URLs are found run by run: none spans a space, so none reaches another run.
            run_tags = tags[bisect.bisect_left(signs, start) : bisect.bisect_left(signs, end)]
            kept = _drop_tags_overlapping_urls(run_tags, _url_spans(text, start, end))
            if len(kept) < len(run_tags):
                dropped.update({sign for _, sign, _ in run_tags} - {sign for _, sign, _ in kept})
        if dropped:
            tags = [tag for tag in tags if tag[1] not in dropped]
    return tags


def extract_hashtags(text: str) -> list[str]:
    """The hashtags of ``text`` as written (without the sign), in order of appearance.

    Exactly twitter-text's ``extractHashtags``: ``extract_hashtags("a #Python #1 &#39;")``
    is ``["Python"]``.
    """
    return [tag for tag, _, _ in extract_hashtags_with_indices(text)]


def is_valid_hashtag(text: str) -> bool:
    """Whether ``text`` is exactly one hashtag, sign included (twitter-text ``isValidHashtag``)."""
    if not text:
        return False
    tags = extract_hashtags(text)
    return len(tags) == 1 and tags[0] == text[1:]


def _drop_tags_overlapping_urls(
    tags: list[tuple[str, int, int]], urls: list[list[int]]
) -> list[tuple[str, int, int]]:
    """twitter-text's removeOverlappingEntities over tags and URLs, keeping the tags."""
    if not urls:
        return tags
    # Stable sort by start, tags before URLs on a tie (they were concatenated first).
    entities: list[tuple[int, int, tuple[str, int, int] | None]] = [
        (start, end, tag) for tag in tags for start, end in [(tag[1], tag[2])]
    ]
    entities += [(start, end, None) for start, end in urls]
    entities.sort(key=lambda e: e[0])
    kept: list[tuple[str, int, int]] = []
    prev_end = entities[0][1]
    if entities[0][2] is not None:
        kept.append(entities[0][2])
    for start, end, tag in entities[1:]:
        if prev_end > start:
            continue  # overlaps the last kept entity: removed
        prev_end = end
        if tag is not None:
            kept.append(tag)
    return kept


# ---------------------------------------------------------------------------------------------
# twitter-text's URL extraction (extractUrlsWithIndices), only to drop tags inside URLs.
# Its regex is case-insensitive in the JS sense: a character matches a class when some member
# has the same JS canonical form (toUpperCase, if that is one character and does not turn a
# non-ASCII character into an ASCII one).


def _words(text: str) -> list[str]:
    return text.split()


# Top-level domains as twitter-text knows them (twitter-text, Apache-2.0, Copyright Twitter, Inc.:
# the lists of its validGTLD / validCCTLD regexes, from IANA's root zone), in its order, which
# matters where one IDN TLD is a prefix of another.
_GTLDS = _words(
    "삼성 닷컴 닷넷 香格里拉 餐厅 食品 飞利浦 電訊盈科 集团 通販 购物 谷歌 诺基亚 "
    "联通 网络 网站 网店 网址 组织机构 移动 珠宝 点看 游戏 淡马锡 机构 書籍 时尚 "
    "新闻 政府 政务 招聘 手表 手机 我爱你 慈善 微博 广东 工行 家電 娱乐 天主教 大拿 "
    "大众汽车 在线 嘉里大酒店 嘉里 商标 商店 商城 公益 公司 八卦 健康 信息 佛山 企业 "
    "中文网 中信 世界 ポイント ファッション セール ストア コム グーグル クラウド "
    "みんな คอม संगठन नेट कॉम همراه موقع موبايلي كوم كاثوليك عرب شبكة بيتك بازار "
    "العليان ارامكو اتصالات ابوظبي קום сайт рус орг онлайн москва ком католик дети "  # noqa: RUF001
    "zuerich zone zippo zip zero zara zappos yun youtube you yokohama yoga yodobashi "
    "yandex yamaxun yahoo yachts xyz xxx xperia xin xihuan xfinity xerox xbox wtf "
    "wtc wow world works work woodside wolterskluwer wme winners wine windows win "
    "williamhill wiki wien whoswho weir weibo wedding wed website weber webcam "
    "weatherchannel weather watches watch warman wanggou wang walter walmart wales "
    "vuelos voyage voto voting vote volvo volkswagen vodka vlaanderen vivo viva "
    "vistaprint vista vision visa virgin vip vin villas viking vig video viajes vet "
    "versicherung vermögensberatung vermögensberater verisign ventures vegas "
    "vanguard vana vacations ups uol uno university unicom uconnect ubs ubank tvs "
    "tushu tunes tui tube trv trust travelersinsurance travelers travelchannel "
    "travel training trading trade toys toyota town tours total toshiba toray top "
    "tools tokyo today tmall tkmaxx tjx tjmaxx tirol tires tips tiffany tienda "
    "tickets tiaa theatre theater thd teva tennis temasek telefonica telecity tel "
    "technology tech team tdk tci taxi tax tattoo tatar tatamotors target taobao "
    "talk taipei tab systems symantec sydney swiss swiftcover swatch suzuki surgery "
    "surf support supply supplies sucks style study studio stream store storage "
    "stockholm stcgroup stc statoil statefarm statebank starhub star staples stada "
    "srt srl spreadbetting spot sport spiegel space soy sony song solutions solar "
    "sohu software softbank social soccer sncf smile smart sling skype sky skin ski "
    "site singles sina silk shriram showtime show shouji shopping shop shoes shiksha "
    "shia shell shaw sharp shangrila sfr sexy sex sew seven ses services sener "
    "select seek security secure seat search scot scor scjohnson science schwarz "
    "schule school scholarships schmidt schaeffler scb sca sbs sbi saxo save sas "
    "sarl sapo sap sanofi sandvikcoromant sandvik samsung samsclub salon sale sakura "
    "safety safe saarland ryukyu rwe run ruhr rugby rsvp room rogers rodeo rocks "
    "rocher rmit rip rio ril rightathome ricoh richardli rich rexroth reviews review "
    "restaurant rest republican report repair rentals rent ren reliance reit reisen "
    "reise rehab redumbrella redstone red recipes realty realtor realestate read "
    "raid radio racing qvc quest quebec qpon pwc pub prudential pru protection "
    "property properties promo progressive prof productions prod pro prime press "
    "praxi pramerica post porn politie poker pohl pnc plus plumbing playstation play "
    "place pizza pioneer pink ping pin pid pictures pictet pics piaget physio photos "
    "photography photo phone philips phd pharmacy pfizer pet pccw pay passagens "
    "party parts partners pars paris panerai panasonic pamperedchef page ovh ott "
    "otsuka osaka origins orientexpress organic org orange oracle open ooo "
    "onyourside online onl ong one omega ollo oldnavy olayangroup olayan okinawa "
    "office off observer obi nyc ntt nrw nra nowtv nowruz now norton "
    "northwesternmutual nokia nissay nissan ninja nikon nike nico nhk ngo nfl nexus "
    "nextdirect next news newholland new neustar network netflix netbank net nec nba "
    "navy natura nationwide name nagoya nadex nab mutuelle mutual museum mtr mtpc "
    "mtn msd movistar movie mov motorcycles moto moscow mortgage mormon mopar "
    "montblanc monster money monash mom moi moe moda mobily mobile mobi mma mls mlb "
    "mitsubishi mit mint mini mil microsoft miami metlife merckmsd meo menu men "
    "memorial meme melbourne meet media med mckinsey mcdonalds mcd mba mattel "
    "maserati marshalls marriott markets marketing market map mango management man "
    "makeup maison maif madrid macys luxury luxe lupin lundbeck ltda ltd "
    "lplfinancial lpl love lotto lotte london lol loft locus locker loans loan llp "
    "llc lixil living live lipsy link linde lincoln limo limited lilly like lighting "
    "lifestyle lifeinsurance life lidl liaison lgbt lexus lego legal lefrak leclerc "
    "lease lds lawyer law latrobe latino lat lasalle lanxess landrover land lancome "
    "lancia lancaster lamer lamborghini ladbrokes lacaixa kyoto kuokgroup kred krd "
    "kpn kpmg kosher komatsu koeln kiwi kitchen kindle kinder kim kia kfh "
    "kerryproperties kerrylogistics kerryhotels kddi kaufen juniper juegos jprs "
    "jpmorgan joy jot joburg jobs jnj jmp jll jlc jio jewelry jetzt jeep jcp jcb "
    "java jaguar iwc iveco itv itau istanbul ist ismaili iselect irish ipiranga "
    "investments intuit international intel int insure insurance institute ink ing "
    "info infiniti industries inc immobilien immo imdb imamat ikano iinet ifm ieee "
    "icu ice icbc ibm hyundai hyatt hughes htc hsbc how house hotmail hotels hoteles "
    "hot hosting host hospital horse honeywell honda homesense homes homegoods "
    "homedepot holiday holdings hockey hkt hiv hitachi hisamitsu hiphop hgtv hermes "
    "here helsinki help healthcare health hdfcbank hdfc hbo haus hangout hamburg "
    "hair guru guitars guide guge gucci guardian group grocery gripe green gratis "
    "graphics grainger gov got gop google goog goodyear goodhands goo golf goldpoint "
    "gold godaddy gmx gmo gmbh gmail globo global gle glass glade giving gives gifts "
    "gift ggee george genting gent gea gdn gbiz gay garden gap games game gallup "
    "gallo gallery gal fyi futbol furniture fund fun fujixerox fujitsu ftr frontier "
    "frontdoor frogans frl fresenius free fox foundation forum forsale forex ford "
    "football foodnetwork food foo fly flsmidth flowers florist flir flights flickr "
    "fitness fit fishing fish firmdale firestone fire financial finance final film "
    "fido fidelity fiat ferrero ferrari feedback fedex fast fashion farmers farm "
    "fans fan family faith fairwinds fail fage extraspace express exposed expert "
    "exchange everbank events eus eurovision etisalat esurance estate esq erni "
    "ericsson equipment epson epost enterprises engineering engineer energy emerck "
    "email education edu edeka eco eat earth dvr dvag durban dupont duns dunlop duck "
    "dubai dtv drive download dot doosan domains doha dog dodge doctor docs dnp diy "
    "dish discover discount directory direct digital diet diamonds dhl dev design "
    "desi dentist dental democrat delta deloitte dell delivery degree deals dealer "
    "deal dds dclk day datsun dating date data dance dad dabur cyou cymru cuisinella "
    "csc cruises cruise crs crown cricket creditunion creditcard credit cpa courses "
    "coupons coupon country corsica coop cool cookingchannel cooking contractors "
    "contact consulting construction condos comsec computer compare company "
    "community commbank comcast com cologne college coffee codes coach clubmed club "
    "cloud clothing clinique clinic click cleaning claims cityeats city citic citi "
    "citadel cisco circle cipriani church chrysler chrome christmas chloe chintai "
    "cheap chat chase charity channel chanel cfd cfa cern ceo center ceb cbs cbre "
    "cbn cba catholic catering cat casino cash caseih case casa cartier cars careers "
    "career care cards caravan car capitalone capital capetown canon cancerresearch "
    "camp camera cam calvinklein call cal cafe cab bzh buzz buy business builders "
    "build bugatti budapest brussels brother broker broadway bridgestone bradesco "
    "box boutique bot boston bostik bosch boots booking book boo bond bom bofa "
    "boehringer boats bnpparibas bnl bmw bms blue bloomberg blog blockbuster blanco "
    "blackfriday black biz bio bingo bing bike bid bible bharti bet bestbuy best "
    "berlin bentley beer beauty beats bcn bcg bbva bbt bbc bayern bauhaus basketball "
    "baseball bargains barefoot barclays barclaycard barcelona bar bank band "
    "bananarepublic banamex baidu baby azure axa aws avianca autos auto author "
    "auspost audio audible audi auction attorney athleta associates asia asda arte "
    "art arpa army archi aramco arab aquarelle apple app apartments aol anz anquan "
    "android analytics amsterdam amica amfam amex americanfamily americanexpress "
    "alstom alsace ally allstate allfinanz alipay alibaba alfaromeo akdn airtel "
    "airforce airbus aigo aig agency agakhan africa afl afamilycompany aetna aero "
    "aeg adult ads adac actor active aco accountants accountant accenture academy "
    "abudhabi abogado able abc abbvie abbott abb abarth aarp aaa onion "
)

_CCTLDS = _words(
    "한국 香港 澳門 新加坡 台灣 台湾 中國 中国 გე ລາວ ไทย ලංකා ഭാരതം ಭಾರತ భారత్ "
    "சிங்கப்பூர் இலங்கை இந்தியா ଭାରତ ભારત ਭਾਰਤ ভাৰত ভারত বাংলা भारोत भारतम् भारत ڀارت "
    "پاکستان موريتانيا مليسيا مصر قطر فلسطين عمان عراق سورية سودان تونس بھارت بارت "
    "ایران امارات المغرب السعودية الجزائر البحرين الاردن հայ қаз укр срб рф мон мкд "  # noqa: RUF001
    "ею бел бг ευ ελ zw zm za yt ye ws wf vu vn vi vg ve vc va uz uy us um uk ug ua "  # noqa: RUF001
    "tz tw tv tt tr tp to tn tm tl tk tj th tg tf td tc sz sy sx sv su st ss sr so "
    "sn sm sl sk sj si sh sg se sd sc sb sa rw ru rs ro re qa py pw pt ps pr pn pm "
    "pl pk ph pg pf pe pa om nz nu nr np no nl ni ng nf ne nc na mz my mx mw mv mu "
    "mt ms mr mq mp mo mn mm ml mk mh mg mf me md mc ma ly lv lu lt ls lr lk li lc "
    "lb la kz ky kw kr kp kn km ki kh kg ke jp jo jm je it is ir iq io in im il ie "
    "id hu ht hr hn hm hk gy gw gu gt gs gr gq gp gn gm gl gi gh gg gf ge gd gb ga "
    "fr fo fm fk fj fi eu et es er eh eg ee ec dz do dm dk dj de cz cy cx cw cv cu "
    "cr co cn cm cl ck ci ch cg cf cd cc ca bz by bw bv bt bs br bq bo bn bm bl bj "
    "bi bh bg bf be bd bb ba az ax aw au at as ar aq ao an am al ai ag af ae ad ac "
)


def _js_canon(cp: int) -> int:
    """JS regex Canonicalize (non-unicode mode, on UTF-16 code units)."""
    if cp > 0xFFFF:
        return cp  # two code units, each without case
    upper = chr(cp).upper()
    if len(upper) != 1 or (cp >= 0x80 and ord(upper) < 0x80):
        return cp
    return ord(upper)


@functools.cache
def _js_canon_inverse() -> dict[int, tuple[int, ...]]:
    """JS canonical form -> the other code points that have it. A non-unicode JS regex works on
    UTF-16 code units, so only BMP characters have case there."""
    inverse: dict[int, list[int]] = {}
    for cp in range(0x10000):
        canon = _js_canon(cp)
        if canon != cp:
            inverse.setdefault(canon, []).append(cp)
    return {k: tuple(v) for k, v in inverse.items()}


def _js_ci(cps: Iterable[int]) -> set[int]:
    """The code points a JS ``/i`` class with members ``cps`` matches."""
    inverse = _js_canon_inverse()
    out = set(cps)
    for canon in {_js_canon(cp) for cp in out}:
        if _js_canon(canon) == canon:
            out.add(canon)
        out.update(inverse.get(canon, ()))
    return out


def _ci_class(members: str | Iterable[int], negate: bool = False) -> str:
    cps = map(ord, members) if isinstance(members, str) else members
    return _py_class(_ranges(_js_ci(cps)), negate)


@functools.cache
def _js_ci_char(ch: str) -> frozenset[int]:
    return frozenset(_js_ci([ord(ch)]))


@functools.cache
def _ci_char(ch: str) -> str:
    cps = _js_ci_char(ch)
    return re.escape(ch) if len(cps) == 1 else _py_class(_ranges(cps))


def _ci_literal(text: str) -> str:
    return "".join(map(_ci_char, text))


def _ci_trie(words: list[str]) -> str:
    """``(?:w1|w2|...)`` (case-insensitive, JS sense) as a trie, which ``re`` runs far faster.

    Among words that match at one place (prefixes of one another) an alternation takes the
    first listed; the trie takes the longest first. That is the same as long as no word is
    listed before a longer word it is a prefix of, and the branches of a trie node match
    different characters: both true of twitter-text's TLD lists (else: the plain alternation).
    """
    first: dict[str, int] = {}
    for i, word in enumerate(words):
        first.setdefault(word, i)
    for i, word in enumerate(words):
        if any(first.get(word[:k], i) < i for k in range(1, len(word))):
            return f"(?:{'|'.join(map(_ci_literal, words))})"  # an earlier word is a prefix
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str | None:
        chars = [_js_ci_char(ch) for ch in node if ch]
        if sum(map(len, chars)) != len(set().union(*chars)):
            return None  # two branches can match the same character
        branches = []
        for ch, child in node.items():
            if ch:
                rest = pattern(child)
                if rest is None:
                    return None
                branches.append(_ci_literal(ch) + rest)
        if "" in node:
            branches.append("")  # the word ending here: after every longer one
        return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"

    return pattern(trie) or f"(?:{'|'.join(map(_ci_literal, words))})"


def _span(a: int, b: int) -> range:
    return range(a, b + 1)


_LATIN_ACCENTS = [
    *_span(0xC0, 0xD6), *_span(0xD8, 0xF6), *_span(0xF8, 0x24F), 0x253, 0x254, 0x256, 0x257,
    0x259, 0x25B, 0x263, 0x268, 0x26F, 0x272, 0x289, 0x28B, 0x2BB, *_span(0x300, 0x36F),
    *_span(0x1E00, 0x1EFF),
]  # fmt: skip
_CYRILLIC = list(_span(0x400, 0x4FF))
_ASCII_ALNUM = [*_span(ord("a"), ord("z")), *_span(ord("0"), ord("9"))]
_INVALID_CHARS = [0xFFFE, 0xFEFF, 0xFFFF]
_DIRECTIONAL_MARKS = [*_span(0x202A, 0x202E), 0x061C, 0x200E, 0x200F, *_span(0x2066, 0x2069)]
_PUNCT = "!'#%&()*+,\\-./:;<=>?@[]^_{|}~$"


# Built on first use, each on its own: most texts need none of them, and few need all three.


@functools.cache
def _tld() -> str:
    """twitter-text's TLD (generic, country code or punycode), then no domain character."""
    tld_end = f"(?={_ci_class([*_ASCII_ALNUM, *map(ord, '@+-')], negate=True)}|\\Z)"
    gtld = f"(?:{_ci_trie(_GTLDS)}{tld_end})"
    cctld = f"(?:{_ci_trie(_CCTLDS)}{tld_end})"
    punycode = f"(?:{_ci_literal('xn--')}{_ci_class([ord('-'), *_ASCII_ALNUM])}+)"
    return f"(?:{gtld}|{cctld}|{punycode})"


_PROTOCOL = "[Hh][Tt][Tt][Pp][Ss]?://"  # _ci_literal("http") + _ci_literal("s") + "?://"


@functools.cache
def _query() -> str:
    """An optional query: "?", query characters, and one that may end a query."""
    query_char = _ci_class([*_ASCII_ALNUM, *map(ord, "!?*'@();:&=+$/%#[]-_.,~|")])
    query_end = _ci_class([*_ASCII_ALNUM, *map(ord, "-_&=#/")])
    return f"(?:\\?{query_char}*{query_end})?"


@functools.cache
def _url_pieces() -> dict[str, str]:
    """The parts of twitter-text's validUrl regex (see :func:`_url_regex`)."""
    domain_char = _ci_class(
        [*map(ord, _PUNCT), *_JS_SPACES, *_INVALID_CHARS, *_DIRECTIONAL_MARKS], negate=True
    )
    path_char = _ci_class(
        [*_ASCII_ALNUM, *_CYRILLIC, *map(ord, "!*';:=+,.$/%#[]-\u2013_~@|&"), *_LATIN_ACCENTS]
    )
    parens = f"\\((?:{path_char}+|(?:{path_char}*\\({path_char}+\\){path_char}*))\\)"
    path_end = (
        f"(?:{_ci_class([*_ASCII_ALNUM, *_CYRILLIC, *map(ord, '+-=_#/'), *_LATIN_ACCENTS])}"
        f"|(?:{parens}))"
    )
    path = f"(?:(?:{path_char}*(?:{parens}{path_char}*)*{path_end})|(?:@{path_char}+/))"
    preceding = _ci_class(
        [*_ASCII_ALNUM, *map(ord, "ABCDEFGHIJKLMNOPQRSTUVWXYZ@\uff20$#\uff03"), *_INVALID_CHARS],
        negate=True,
    )
    return {
        "domain_char": domain_char,
        "preceding": f"(?:{preceding}|{_ci_class(_DIRECTIONAL_MARKS)})",
        # the port, the path (group 1) and the query after the domain: all optional
        "rest": f"(?::[0-9]+)?(/{path}*)?{_query()}",
    }


@functools.cache
def _url_regex() -> re.Pattern[str]:
    """twitter-text's validUrl (the regex of extractUrlsWithIndices), as written.

    :func:`_url_matches` finds the same matches in linear time; this one backtracks (a text
    like ``"http://" + "a." * 4000`` takes seconds) and is kept as the reference it is tested
    against.
    """
    pieces = _url_pieces()
    domain_char = pieces["domain_char"]
    subdomain = f"(?:(?:{domain_char}(?:[_\\-]|{domain_char})*)?{domain_char}\\.)"
    domain_name = f"(?:(?:{domain_char}(?:-|{domain_char})*)?{domain_char}\\.)"
    domain = f"(?:{subdomain}*{domain_name}{_tld()})"
    return re.compile(
        f"({pieces['preceding']}|^)"  # 1: the character before
        f"(({_PROTOCOL})?"  # 2: the URL, 3: the protocol
        f"({domain})"  # 4: the domain
        f"{pieces['rest']})"  # 5: the path
    )


class _UrlMatch(NamedTuple):
    """One match of twitter-text's validUrl: the URL is ``text[start:end]``."""

    start: int
    end: int
    before: str  # the character before the URL ("" at the start of the text)
    protocol: str  # "" without one
    domain: str
    path: str


@functools.cache
def _url_scanner() -> tuple[re.Pattern[str], ...]:
    """(label runs, one domain character, one preceding character, protocol, TLD, the rest)."""
    pieces = _url_pieces()
    dc = pieces["domain_char"]
    return (
        re.compile(f"(?:{dc}|[_\\-])+"),
        re.compile(dc),
        re.compile(pieces["preceding"]),
        re.compile(_PROTOCOL),
        re.compile(_tld()),
        re.compile(pieces["rest"]),
    )


def _url_matches(text: str, pos: int, stop: int) -> Iterator[_UrlMatch]:
    """The successive matches of :func:`_url_regex` in ``text[:stop]``, searched from ``pos``
    and each from the end of the one before, in time linear in ``stop - pos``.

    The regex's cost is its domain, ``subdomain* domain_name TLD``: from each place it may
    start, it runs over all the labels that follow, then backs off label by label to the last
    one followed by a TLD; a text of many labels and no TLD costs the square of its length. A
    label (a domain name is one without "_") always ends at the same place, the end of its run
    of domain characters, "_" and "-", so what the domain matches from a place depends only on
    the run it is in and the runs after it. That is worked out once per run, right to left
    (:class:`_UrlScan`), and the regex's attempts are then replayed in order, each in
    constant time.
    """
    scan = _UrlScan(text, pos, stop)
    at = pos
    while True:
        for s in scan.candidates(at):
            if s < at:
                continue
            found = scan.attempt(s)
            if found is not None:
                break
        else:
            return
        yield found
        at = found.end


class _UrlScan:
    """The runs of domain characters of ``text[pos:stop]`` and, per run ``[a, b)``, the
    domain's end from a place in it (a domain character): through a subdomain (``sub``, for
    any place) or, failing that, a domain name and a TLD (``name``, for places from
    ``name_from``, after the run's last "_"); None when there is none."""

    def __init__(self, text: str, pos: int, stop: int) -> None:
        runs_re, self.dc_re, self.pre_re, self.proto_re, tld_re, self.rest_re = _url_scanner()
        self.text, self.stop = text, stop
        self.runs = runs = [(m.start(), m.end()) for m in runs_re.finditer(text, pos, stop)]
        self.starts = [a for a, _ in runs]
        self.protocols = [(m.start(), m.end()) for m in self.proto_re.finditer(text, pos, stop)]
        self.sub: list[int | None] = [None] * len(runs)
        self.name: list[int | None] = [None] * len(runs)
        self.name_from = [0] * len(runs)
        sub, name, name_from, dc_re = self.sub, self.name, self.name_from, self.dc_re
        run_at: dict[int, int] = {}
        for i in range(len(runs) - 1, -1, -1):
            a, b = runs[i]
            run_at[a] = i
            if b < stop and text[b] == "." and dc_re.match(text, b - 1):
                following = run_at.get(b + 1)
                if following is not None and dc_re.match(text, b + 1):
                    sub[i] = self.run_domain_end(following, runs[following][0])
                    if sub[i] is None and (tld := tld_re.match(text, b + 1, stop)) is not None:
                        name[i] = tld.end()
                        name_from[i] = text.rfind("_", a, b) + 1 or a

    def run_domain_end(self, i: int, d: int) -> int | None:
        """The end of the domain from ``d`` (a domain character) in run ``i``."""
        if self.sub[i] is not None:
            return self.sub[i]
        if self.name[i] is not None and d >= self.name_from[i]:
            return self.name[i]
        return None

    def domain_end(self, d: int) -> int | None:
        """The end of the domain the regex matches at ``d``, if any."""
        i = bisect.bisect_right(self.starts, d) - 1
        if i < 0 or d >= self.runs[i][1] or not self.dc_re.match(self.text, d, self.stop):
            return None
        return self.run_domain_end(i, d)

    def attempt(self, s: int) -> _UrlMatch | None:
        """The regex's match at ``s`` (the place of the character before the URL), if any."""
        text, stop = self.text, self.stop
        tries: list[tuple[str, int]] = []  # (the character before, where the URL starts)
        if s < stop and self.pre_re.match(text, s, stop):
            tries.append((text[s], s + 1))
        if s == 0:
            tries.append(("", 0))
        for before, start in tries:
            proto = self.proto_re.match(text, start, stop)
            for d in ((proto.end(),) if proto else ()) + (start,):
                end = self.domain_end(d)
                if end is not None:
                    rest = self.rest_re.match(text, end, stop)
                    assert rest is not None  # every part of it is optional
                    protocol = text[start:d]
                    return _UrlMatch(
                        start, rest.end(), before, protocol, text[d:end], rest.group(1) or ""
                    )
        return None

    def candidates(self, after: int) -> Iterator[int]:
        """The places >= ``after`` where the regex may match, in order (a superset)."""
        if after == 0:
            yield 0
        first_protocol = bisect.bisect_left(self.protocols, (after + 1, 0))
        yield from heapq.merge(
            (q - 1 for q, _ in self.protocols[first_protocol:]),
            self.run_candidates(max(bisect.bisect_right(self.starts, after) - 1, 0), after),
        )

    def run_candidates(self, i: int, after: int) -> Iterator[int]:
        """The places >= ``after`` just before a domain character from which the domain
        matches, in runs ``i`` and after."""
        text, dc_re, pre_re = self.text, self.dc_re, self.pre_re
        sub, name, name_from = self.sub, self.name, self.name_from
        for k in range(i, len(self.runs)):
            a, b = self.runs[k]
            first = a if sub[k] is not None else name_from[k] if name[k] is not None else b
            for d in range(max(first, after + 1), b):
                if dc_re.match(text, d) and pre_re.match(text, d - 1):
                    yield d - 1


@functools.cache
def _ascii_domain_regex() -> re.Pattern[str]:
    """twitter-text's validAsciiDomain, or (group ``skip``) a stretch where it cannot start.

    Labels are possessive (a label ends where its run ends, before "."): the same matches. When
    no TLD follows the labels from a place, none follows those from a later place among them,
    so the stretch is skipped whole: linear time.
    """
    ascii_domain_char = _ci_class([ord("-"), *_ASCII_ALNUM, *_LATIN_ACCENTS])
    return re.compile(
        f"(?:{ascii_domain_char}++\\.)+{_tld()}"
        f"|(?P<skip>(?:{ascii_domain_char}++\\.)++|{ascii_domain_char}++)"
    )


def _ascii_domains(domain: str) -> Iterator[re.Match[str]]:
    """twitter-text's validAsciiDomain matches in ``domain``, in order."""
    return (m for m in _ascii_domain_regex().finditer(domain) if m.group("skip") is None)


@functools.cache
def _tco_regex() -> re.Pattern[str]:
    """twitter-text's validTcoUrl."""
    return re.compile(f"{_PROTOCOL}{_ci_literal('t.co')}/({_ci_class(_ASCII_ALNUM)}+){_query()}")


_MAX_URL_LENGTH = 4096
_MAX_TCO_SLUG_LENGTH = 40
_MAX_DOMAIN_LABEL_LENGTH = 63
_DOMAIN_SEPARATORS_RE = re.compile("[.\u3002\uff0e\uff61]")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _punycode_label(label: str) -> str:
    """punycode.js ``toASCII`` of one label (no nameprep, no lower-casing)."""
    parts = []
    for part in _DOMAIN_SEPARATORS_RE.split(label):
        if any(ord(ch) > 0x7E for ch in part):
            try:
                part = "xn--" + part.encode("punycode").decode("ascii")
            except UnicodeError:  # pragma: no cover - lone surrogates
                part = "xn--" + part
        parts.append(part)
    return ".".join(parts)


def _is_valid_url(url: str, protocol: str, domain: str) -> bool:
    """twitter-text's isValidUrl: DNS label lengths and the URL length limit."""
    if domain.startswith("xn--") and next(_ascii_domains(domain), None) is None:
        return False
    for label in domain.split("."):
        # punycode leaves a label of ASCII up to "~" as it is
        plain = label.isascii() and "\x7f" not in label
        if not 1 <= len(label if plain else _punycode_label(label)) <= _MAX_DOMAIN_LABEL_LENGTH:
            return False
    return _utf16_len(protocol) + _utf16_len(url) <= _MAX_URL_LENGTH


def _url_spans(text: str, lo: int = 0, hi: int | None = None) -> list[list[int]]:
    """``[start, end]`` of each URL twitter-text's extractUrlsWithIndices finds in ``text``.

    With ``lo``/``hi`` (the bounds of a run between spaces), only the URLs in ``text[lo:hi]``:
    the same ones as in the whole text, since no URL spans a space.
    """
    stop = len(text) if hi is None else hi
    if "." not in text[lo:stop]:
        return []
    spans: list[list[int]] = []
    pos = max(lo - 1, 0)  # the space before the run may be a URL's preceding character
    for start, end, before, protocol, domain, path in _url_matches(text, pos, stop):
        url = text[start:end]
        if not _is_valid_url(url, protocol or "https://", domain):
            continue
        if protocol:
            tco = _tco_regex().match(url)
            if tco is not None:
                if len(tco.group(1)) > _MAX_TCO_SLUG_LENGTH:
                    continue
                end = start + len(tco.group(0))
            spans.append([start, end])
            continue
        if before and before in "-_./":
            continue  # no URL without protocol right after these
        last: list[int] | None = None
        ascii_end = 0
        for am in _ascii_domains(domain):
            ascii_domain = am.group(0)
            ascii_start = domain.find(ascii_domain, ascii_end)
            ascii_end = ascii_start + len(ascii_domain)
            last = [start + ascii_start, start + ascii_end]
            spans.append(last)
        if last is not None and path:
            last[1] = end  # the last ASCII domain takes the path (and query) with it
    return spans


# ---------------------------------------------------------------------------------------------
# Vectorised extraction (polars): the same character classes, in Rust regex syntax.
#
# twitter-text's hashtag regex is global: each match is (the start of the text or a boundary
# character B, a sign, a run of tag characters), and the next match is searched after it, so a
# match consumes its boundary character. ``str.extract_all`` does exactly that, and the regex
# needs no look-around: with L = letters and marks, N = the other tag characters and
# L' = L - {FE0F, 20E3} (no "#" right before these), a match is
#     (^ | B) sign (L' | N+ L) (L | N)*
# where B is anything but a tag character or "&", or U+FE0E/U+FE0F (_RS_TAG). So "C#", "a#frag"
# or "&#39;" need no Python.
#
# Only two things are not in that regex; a row in which either may happen goes through
# extract_hashtags (_RS_SLOW, a superset of these cases):
#   * a run after a sign followed by a sign or "://": twitter-text rejects the match, but it has
#     consumed the run (and so the boundary character of a sign right after it);
#   * a tag a URL could cover (see _runs_near_urls): a sign after a boundary character with,
#     in its run (no white space), "://" before it, or a dot and then "/" or "?" before a "#",
#     or a dot before and a "/" after a "＃".
# Most URLs with a tag-like "#" in them are simple, though: a token (between white space) such
# as "https://example.com/#pricing" is one URL from its first character to its last "#", so
# each of its tags overlaps that URL and is dropped, and it touches no other token. Such tokens
# (_RS_URL_TOKEN) are cut out of a flagged row; if the rest is not flagged, its tags are the
# row's.

_RS_SIGN = f"[{_HASH_SIGNS}]"
_RS_ALNUM = _rs_class(_ALNUM)
# Not a boundary character: a tag character (but U+FE0E/U+FE0F) or "&".
_NOT_BOUNDARY = _union(_without(_ALNUM, _VARIATION), _ranges([ord("&")]))
_RS_BOUNDARY = _rs_class(_NOT_BOUNDARY, negate=True)  # "[^...]"
_RS_BOUNDARY_NOT_SPACE = f"{_RS_BOUNDARY[:-1]}\\s]"
# Texts get a leading space, so that every match has a boundary character (no "^" case) and the
# tag is the match without its first two characters.
_RS_TAG = (
    f"{_RS_BOUNDARY}{_RS_SIGN}"
    f"(?:{_rs_class(_without(_ALPHA, _NO_TAG_AFTER_SIGN))}"
    f"|{_rs_class(_NON_ALPHA)}+{_rs_class(_ALPHA)}){_RS_ALNUM}*"
)
_RS_SLOW = "|".join(
    [
        f"{_RS_SIGN}{_RS_ALNUM}+(?:{_RS_SIGN}|://)",
        f":/(?:\\S*{_RS_BOUNDARY_NOT_SPACE})?{_RS_SIGN}{_RS_ALNUM}",
        f"\\.\\S*[/?](?:\\S*{_RS_BOUNDARY_NOT_SPACE})?#{_RS_ALNUM}",
        f"\\.(?:\\S*{_RS_BOUNDARY_NOT_SPACE})?＃{_RS_ALNUM}\\S*/",
    ]
)

# A token that is one URL to twitter-text, covering all of its signs: [protocol] host [port]
# then a path or a query, in ASCII. Its host is ASCII labels and a TLD of twitter-text's (checked
# apart: the list in the regex makes it several times slower), so the URL regex takes exactly
# the host. Its labels are at most 63 characters long and the URL at most 4,000 (else the row
# is not cut), so the URL is valid. Then:
#   * with "/" and path characters to the end of the token, the URL's path runs to the last
#     character that may end a path, which every "#" is (and there is no "＃");
#   * with "?" and query characters to the end, its query runs to the last character that may
#     end a query, which every "#" is; if the "?" comes after a path, that path ends in a
#     character that may end a path, so the path reaches the "?".
# Without a protocol (then only the ASCII domain, and the path with it, are a URL) a path is
# needed, and "https://t.co/..." URLs end after the slug: rows with those are not cut either.
_RS_PATH_CHAR = r"[a-zA-Z0-9!*';:=+,.$/%#\[\]\-_~@|&]"
_RS_PATH_END = r"[a-zA-Z0-9+\-=_#/]"
_RS_QUERY_CHAR = r"[a-zA-Z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_RS_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z]+(?::[0-9]+)?"
_RS_PATH = f"/{_RS_PATH_CHAR}*"
_RS_QUERY = f"\\?{_RS_QUERY_CHAR}*"
_RS_URL_TOKEN = (
    "(\\s)(?:"
    f"(?i-u:https?://){_RS_HOST}(?:{_RS_PATH}|(?:/(?:{_RS_PATH_CHAR}*{_RS_PATH_END})?)?{_RS_QUERY})"
    f"|{_RS_HOST}/(?:{_RS_PATH_CHAR}*|(?:{_RS_PATH_CHAR}*{_RS_PATH_END})?{_RS_QUERY})"
    ")(\\s|$)"
)
_RS_URL_TOKEN_TLD = r"\.([a-zA-Z]+)(?::[0-9]+)?[/?]"  # the first is the host's last label
_RS_NO_URL_CUT = "(?i-u:https?://t\\.co/)|[a-zA-Z0-9-]{64}"
_MAX_URL_CUT_BYTES = 4000
_STRING_LIST = pl.List(pl.String)


@functools.cache
def _ascii_tlds() -> pl.Series:
    """twitter-text's ASCII TLDs (all lower case letters)."""
    return pl.Series(sorted({w for w in (*_GTLDS, *_CCTLDS) if w.isascii()}), dtype=pl.String)


def _tags(padded: pl.Series) -> pl.Series:
    """The tags by the fast path of ``" " + text`` (right where :data:`_RS_SLOW` finds none)."""
    return padded.str.extract_all(_RS_TAG).list.eval(pl.element().str.slice(2))


def _cut_url_tokens(padded: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(``padded`` without its :data:`_RS_URL_TOKEN` tokens, whether each of their TLDs is one
    of twitter-text's)."""
    tokens = padded.str.extract_all(_RS_URL_TOKEN)
    tld = pl.element().str.extract(_RS_URL_TOKEN_TLD, 1).str.to_lowercase()
    known = tokens.list.eval(tld.is_in(_ascii_tlds().implode())).list.all()
    return padded.str.replace_all(_RS_URL_TOKEN, "${1}${2}"), known


def _prepare(texts: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(what the fast path extracts from: ``" " + text``, or the rest of it when URL tokens are
    cut; whether the row needs the slow path instead) for non-null texts."""
    slow, padded = texts.str.contains(_RS_SLOW), " " + texts
    if slow.any():
        # Cut the simple URL tokens out of the flagged rows: those whose rest is not flagged
        # are decided by the fast path on that rest. A cut takes the white space after a token,
        # so of two tokens one space apart only the first goes: hence a second cut.
        rows = slow.arg_true()
        flagged = padded.gather(rows)
        once, tlds_once = _cut_url_tokens(flagged)
        cut, tlds_twice = _cut_url_tokens(once)
        decided = (
            tlds_once
            & tlds_twice
            & (flagged.str.len_bytes() <= _MAX_URL_CUT_BYTES)
            & ~flagged.str.contains(_RS_NO_URL_CUT)
            & ~cut.str.contains(_RS_SLOW)
        )
        if decided.any():
            at = decided.arg_true()
            padded = padded.scatter(rows.gather(at), cut.gather(at))
            slow = slow.scatter(rows.gather(at), False)
    return padded, slow


def _fast_path(texts: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(tags by the fast path, whether the row needs the slow path) for non-null texts."""
    padded, slow = _prepare(texts)
    return _tags(padded), slow


def needs_slow_path(texts: pl.Series) -> pl.Series:
    """Boolean mask of the rows :func:`extract_hashtags_batch` hands to Python (nulls: false)."""
    return _prepare(texts.cast(pl.String).fill_null(""))[1].rename(texts.name)


def replace_rows(base: pl.Series, rows: pl.Series, values: pl.Series) -> pl.Series:
    """``base`` with ``base[rows[k]] = values[k]`` (``Series.scatter`` does not take lists)."""
    n = len(base)
    positions = pl.int_range(0, n, dtype=pl.UInt32, eager=True).scatter(
        rows, pl.int_range(n, n + len(rows), dtype=pl.UInt32, eager=True)
    )
    # One chunk: a gather across chunks is several times slower.
    return pl.concat([base, values.cast(base.dtype)], rechunk=True).gather(positions)


# polars runs one string expression on one thread; large batches are split over a few.
_PARALLEL_MIN_ROWS = 50_000


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="extract")


def _workers() -> int:
    return max(1, min(pl.thread_pool_size(), 8))


def extract_hashtags_batch(texts: pl.Series) -> pl.Series:
    """``List[String]`` series: element ``i`` is ``extract_hashtags(texts[i])`` exactly.

    A null text gives an empty list. Rows are decided with polars regexes (on a few threads for
    large series); the few the fast path cannot decide (see :func:`needs_slow_path`) go through
    :func:`extract_hashtags`.
    """
    texts = texts.cast(pl.String).fill_null("")
    n, workers = len(texts), _workers()
    if n >= _PARALLEL_MIN_ROWS and workers > 1:
        step = -(-n // workers)
        parts = list(_pool().map(_fast_path, [texts.slice(i, step) for i in range(0, n, step)]))
        tags = pl.concat([part[0] for part in parts], rechunk=True)
        slow = pl.concat([part[1] for part in parts], rechunk=True)
    else:
        tags, slow = _fast_path(texts)
    if slow.any():
        rows = slow.arg_true()
        slow_tags = [extract_hashtags(t) for t in texts.gather(rows).to_list()]
        tags = replace_rows(tags, rows, pl.Series(slow_tags, dtype=_STRING_LIST))
    return tags.cast(_STRING_LIST).rename(texts.name)


# ---------------------------------------------------------------------------------------------
# Tag keys.


def tag_key(tag: str) -> str:
    """The tag key of a tag as written (no sign): NFKC, then full case folding.

    The definition lives with the index contract (:func:`indexer.schema.tag_key`,
    which the service uses too); this is the same function."""
    return schema_tag_key(tag)


def _key_table(
    flat: pl.Series, key: Callable[[str], str] | None = None
) -> tuple[pl.Series, pl.Series]:
    """(tags as written, their keys) over the distinct values of ``flat`` (no nulls).

    ``str.to_lowercase`` for ASCII tags (for ASCII the same as NFKC + casefold; the
    tags have no ``#`` in front) and Python's ``key`` (:func:`tag_key` by default,
    any NFKC + casefold) for the others, so the Python work scales with distinct
    non-ASCII tags, not with occurrences.
    """
    key = key or tag_key
    distinct = flat.unique()
    ascii_only = distinct.str.len_bytes() == distinct.str.len_chars()
    ascii_tags, other_tags = distinct.filter(ascii_only), distinct.filter(~ascii_only)
    old = pl.concat([ascii_tags, other_tags])
    new = pl.concat(
        [
            ascii_tags.str.to_lowercase(),
            pl.Series([key(t) for t in other_tags.to_list()], dtype=pl.String),
        ]
    )
    return old, new


def tag_keys(written: pl.Series, key: Callable[[str], str] | None = None) -> pl.Series:
    """The tag key of each tag as written (a flat ``String`` series without nulls), in order;
    ``key`` as in :func:`_key_table`."""
    old, new = _key_table(written, key)
    return written.replace_strict(old, new, return_dtype=pl.String)


def _keyed(tags: pl.Series) -> tuple[pl.Series, pl.Expr]:
    """The tag lists without null rows or null tags, and the expression (over ``pl.element()``
    in ``list.eval``) that maps a tag as written to its key (see :func:`_key_table`)."""
    tags = tags.cast(_STRING_LIST).fill_null([])
    flat = tags.explode(empty_as_null=False, keep_nulls=False)
    if flat.null_count():
        tags, flat = tags.list.drop_nulls(), flat.drop_nulls()
    old, new = _key_table(flat)
    return tags, pl.element().replace_strict(old, new, return_dtype=pl.String)


def tag_keys_batch(tags: pl.Series) -> pl.Series:
    """Per row of a ``List[String]`` of tags as written: its distinct tag keys (``List[String]``).

    Keys (:func:`tag_key`) in order of first appearance, duplicates within a row removed (a
    post counts once per key: ``["Python", "python"]`` -> ``["python"]``). Null rows give an
    empty list, null tags are skipped.
    """
    tags, key = _keyed(tags)
    return tags.list.eval(key).list.unique(maintain_order=True).cast(_STRING_LIST)
