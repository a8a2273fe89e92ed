#!/usr/bin/env python3
# ruff: noqa: RUF001  (multilingual text tables: the "ambiguous" letters are the point)
"""Deterministic synthetic social-media posts in the canonical input format.

Writes ``--posts`` rows of canonical posts (NDJSON, CSV or Parquet, chosen by
the output's extension; ``.gz``/``.zst`` compress) and prints a one-line JSON
summary of what it planted on stderr. The same arguments always give
byte-identical output: every random draw is a splitmix64 hash of
(seed, stream, row number), computed by polars, so nothing depends on thread
scheduling or on the order of calls.

Examples::

    uv run python bench/gen.py --posts 1000000 --out /tmp/posts.ndjson
    uv run python bench/gen.py --posts 200000 --dup-rate 0.05 --bad-rate 0.01 \\
        --timestamps mixed --out /tmp/posts.csv.zst
    uv run python bench/gen.py --sample data/sample      # the bundled sample

As a library (``bench`` is a plain directory; put the repository root on
``sys.path``)::

    from bench.gen import generate, iter_posts, write_posts
    for frame in generate(10_000, seed=1):   # polars frames, canonical columns
        ...
    rows = list(iter_posts(100))             # dicts, exactly as NDJSON would hold them
    summary = write_posts("/tmp/x.ndjson", 10_000, dup_rate=0.01)

Every emitted hashtag is a construct whose twitter-text extraction is
certain: the sign (``#``, or ``＃`` in some CJK posts) is at the start of the
text or after a space, the body is letters, marks, digits, ``_`` and ZWNJ with
at least one letter, and it is followed by a space, a newline, ``.`` ``!``
``?`` ``,`` ``:`` ``。`` or the end. Texts also hold things that are *not*
tags (``https://example.com/a#frag``, ``https://example.com/#pricing``,
``#1``, ``C#``), so a row's ``hashtags`` list, where present, always equals
what an extractor must find in its text.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import queue
import random
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import polars as pl
import zstandard

# --------------------------------------------------------------------------
# Fixed tables
# --------------------------------------------------------------------------

PLATFORMS = ("x", "bluesky", "mastodon", "reddit")
PLATFORM_WEIGHTS = (0.45, 0.20, 0.15, 0.20)
OWN_TAGS_RATE = {"x": 0.40, "bluesky": 0.45, "mastodon": 0.45, "reddit": 0.0}
"""Chance that a post of the platform carries its own ``hashtags`` list (~30% overall)."""

LANGS = (
    "en",
    "es",
    "ja",
    "pt",
    "de",
    "fr",
    "ko",
    "tr",
    "ar",
    "ru",
    "hi",
    "fa",
    "zh",
    "uk",
    "he",
    "el",
)
LANG_WEIGHTS = (
    0.46, 0.09, 0.08, 0.06, 0.05, 0.05, 0.04, 0.03, 0.03, 0.025, 0.02, 0.015, 0.01, 0.005,
    0.005, 0.005,
)  # fmt: skip
LANG_BOOST = {
    "x": {"ja": 1.6, "ar": 1.5, "tr": 1.5, "ko": 1.4, "es": 1.2},
    "bluesky": {"pt": 1.8, "ja": 1.3},
    "mastodon": {"de": 3.0, "fr": 1.6, "ja": 1.5, "en": 0.8},
    "reddit": {"en": 1.7, "ja": 0.2, "ko": 0.3, "ar": 0.3, "fa": 0.3},
}
CJK_LANGS = frozenset({"ja", "zh", "ko"})
"""Languages whose posts sometimes use the full-width sign ``＃``."""

HOUR_WEIGHTS = (
    2.2, 1.6, 1.2, 1.0, 0.9, 1.0, 1.4, 2.0, 2.8, 3.4, 3.8, 4.1,
    4.4, 4.6, 4.8, 5.0, 5.3, 5.6, 6.0, 6.2, 5.8, 4.9, 3.9, 2.9,
)  # fmt: skip
"""Posts per UTC hour of the day (relative): the daily cycle."""

TAGS_PER_POST = (0.22, 0.38, 0.22, 0.12, 0.06)
"""Chance of 0, 1, 2, 3, 4 tags in a post."""

DEFAULT_END = "2026-11-01T00:00:00Z"
DEFAULT_DAYS = 28
DEFAULT_BATCH = 100_000
MAX_VOCAB = 50_000
MAX_ROWS = 65_536_000
TS_OFFSETS = ("+02:00", "-05:00", "+05:30", "+09:00", "-03:00", "+01:00", "-08:00", "+03:00")

# Planted trends (``--plant-trends``).
BURST_TAG = "NorthernLights"
BURST_CO_TAG = "SolarStorm"
SPAM_TAG = "FreeTokenDrop"
SPAM_AUTHOR = "free_token_drops"
STEADY_TAG = "GoodMorning"
PLANTED_TAGS = (BURST_TAG, BURST_CO_TAG, SPAM_TAG, STEADY_TAG)

# Tags by segment, most popular first. "global" is used by every language.
CURATED: dict[str, tuple[str, ...]] = {
    "global": (
        "AI", "Python", "NowPlaying", "Halloween", "NBA", "WorldCup", "Photography", "OpenSource",
        "ClimateChange", "Bitcoin", "F1", "Election2026", "Music", "BreakingNews", "Rust",
        "MachineLearning", "PremierLeague", "Gaming", "Anime", "Books", "JavaScript", "NFL",
        "Linux", "Travel", "Netflix", "ChampionsLeague", "Science", "Art", "Crypto", "Cats",
        "Fitness", "DataScience", "Economy", "Coffee", "café", "Movies", "KPop", "Astronomy",
        "Dogs",
        "CyberSecurity", "Olympics", "Tennis", "Podcast", "WebDev", "Inflation", "LLM",
        "Cricket", "Ukraine", "Running", "Vegan", "StockMarket", "DevOps", "Weather", "Foodie",
        "MLB", "WorldSeries", "SpaceX", "NASA", "Privacy", "Kubernetes", "100DaysOfCode",
        "Marathon", "Wordle", "DigitalArt", "Politics", "MentalHealth", "Recipe", "Gardening",
        "Startup", "EV", "Energy", "Solar", "Docker", "TypeScript", "Postgres", "Golang",
        "GameDev", "Android", "iOS", "Apple", "Cloud", "Programming", "TechNews", "UX", "React",
        "Web3", "Robotics", "Climate", "Earthquake", "Hurricane", "Wildfire", "Markets",
        "Tariffs", "Housing", "Healthcare", "COP31", "EU", "Brexit", "Formula1", "MotoGP",
        "Rugby", "Golf", "Esports", "UFC", "NHL", "Cycling", "LaLiga", "Bundesliga", "SerieA",
        "SuperBowl", "Oscars", "Grammys", "Eurovision", "StarWars", "Marvel", "Fashion", "OOTD",
        "Yoga", "Caturday", "ThrowbackThursday", "FridayFeeling", "BookTok", "Horror",
        "Pumpkin", "Autumn", "TrickOrTreat", "Costume", "Vinyl", "Jazz", "HipHop", "Indie",
        "Concert", "Festival", "Theatre", "Poetry", "History", "Museum", "Architecture",
        "Nature", "Birds", "Hiking", "Camping", "Sunset", "StreetPhotography", "Film",
        "Documentary", "TrueCrime", "Comics", "Manga", "Cosplay", "BoardGames", "Chess",
        "Nintendo", "PlayStation", "Xbox", "Minecraft", "Pokemon", "Streaming", "Twitch",
        "YouTube", "Blogging", "Writing", "AmWriting", "IndieDev", "Hackathon", "SQL", "Java",
        "CSharp", "Swift", "Kotlin", "Haskell", "Elixir", "Zig", "WebAssembly", "Serverless",
        "AWS", "Azure", "GCP", "Terraform", "Observability", "SRE", "Infosec", "Ransomware",
        "OpenAI", "GenAI", "ComputerVision", "NLP", "Statistics", "Math", "Physics", "Biology",
        "Chemistry", "Medicine", "PublicHealth", "Vaccines", "Education", "Teachers",
        "Parenting", "Jobs", "RemoteWork", "Productivity", "Finance", "RealEstate", "Ethereum",
        "Nvidia", "Semiconductors", "Tesla", "Cars", "Aviation", "Trains", "UrbanPlanning",
        "Bikes", "Accessibility",
    ),
    "es": (
        "Fútbol", "México", "España", "DíaDeMuertos", "Noticias", "ElClásico", "LigaMX",
        "Argentina", "Música", "BuenosDías", "Madrid", "Barcelona", "Elecciones", "Cine",
        "Colombia", "Chile", "Perú", "Economía", "Tecnología", "Lluvia", "CopaAmérica",
        "Selección", "Catrina", "Ofrenda", "Política",
    ),
    "ja": (
        "拡散希望", "ハロウィン", "東京", "アニメ", "紅葉", "今日の一枚", "地震", "サッカー",
        "ラーメン", "猫", "野球", "ポケモン", "大阪", "漫画", "日本シリーズ", "京都",
        "写真好きな人と繋がりたい",
        "イラスト", "ゲーム", "カフェ巡り", "ニュース", "秋", "日本語", "台風", "新幹線",
    ),
    "pt": (
        "Brasil", "Futebol", "Notícias", "SãoPaulo", "Flamengo", "Eleições", "BomDia",
        "Palmeiras", "Corinthians", "RioDeJaneiro", "Novela", "Música", "Portugal", "Lisboa",
        "Tecnologia", "Economia", "Cinema", "Carnaval",
    ),
    "de": (
        "Fußball", "Bundestag", "Straße", "Tatort", "Berlin", "München", "Wetter", "Bahn",
        "Energiewende", "Köln", "Hamburg", "Datenschutz", "Nachrichten", "Herbst", "Oktoberfest",
        "Straßenbahn", "Klimaschutz", "Wahl", "Fahrrad", "Österreich", "Schweiz", "Kaffee",
    ),
    "fr": (
        "Paris", "Actualités", "Politique", "Ligue1", "Cinéma", "Québec", "Météo", "Grève",
        "Lyon", "Marseille", "Rentrée", "Musique", "Économie", "Écologie", "Bretagne", "Vélo",
        "Littérature", "Toussaint",
    ),
    "ko": (
        "트위터", "서울", "케이팝", "방탄소년단", "축구", "뉴스", "맛집", "여행", "일상", "드라마",
        "부산", "야구", "카페", "가을", "영화",
    ),
    "tr": (
        "Ateş", "İstanbul", "Türkiye", "Galatasaray", "Fenerbahçe", "Beşiktaş", "Deprem",
        "Ankara", "Gündem", "Futbol", "Ekonomi", "İzmir", "Trabzonspor", "Cumhuriyet",
    ),
    "ar": (
        "السعودية", "مصر", "كرة_القدم", "الرياض", "أخبار", "دبي", "العربية", "القاهرة",
        "الهلال", "النصر", "الإمارات", "قطر", "الأردن", "المغرب",
    ),
    "ru": (
        "Москва", "новости", "футбол", "Россия", "Петербург", "погода", "кино", "музыка",
        "спорт", "осень",
    ),
    "hi": (
        "भारत", "क्रिकेट", "दिल्ली", "बॉलीवुड", "दिवाली", "समाचार", "मुंबई", "धनतेरस",
        "चुनाव", "हिंदी",
    ),
    "fa": (
        "ایران", "تهران", "برنامه‌نویسی", "کتاب‌خوانی", "فارسی", "هوش_مصنوعی", "می‌خواهم",
        "فوتبال", "اصفهان", "شعر",
    ),
    "zh": ("北京", "上海", "美食", "电影", "音乐", "科技", "台湾", "香港", "国庆", "旅行"),
    "uk": ("Україна", "Київ", "новини", "Львів", "Харків", "футбол"),
    "he": ("ישראל", "תל_אביב", "חדשות", "ירושלים", "שבת_שלום", "כדורגל"),
    "el": ("Ελλάδα", "Αθήνα", "ποδόσφαιρο", "ειδήσεις", "Θεσσαλονίκη", "Κρήτη"),
}  # fmt: skip

# Parts for synthetic tags (the long tail of the vocabulary).
_TOPICS = (
    "Python", "Rust", "AI", "Data", "Cloud", "Crypto", "Climate", "Football", "Soccer",
    "Basketball", "Baseball", "Hockey", "Tennis", "Golf", "Chess", "Coffee", "Tea", "Wine",
    "Beer", "Pizza", "Sushi", "Ramen", "Taco", "Vegan", "Bread", "Baking", "Cooking", "Garden",
    "Plant", "Bird", "Cat", "Dog", "Horse", "Photo", "Film", "Music", "Jazz", "Rock", "Metal",
    "Punk", "Techno", "Poetry", "Book", "Comic", "Anime", "Manga", "Game", "Retro", "Pixel",
    "Indie", "Startup", "Design", "UX", "Web", "Mobile", "Linux", "Security", "Privacy",
    "Space", "Mars", "Moon", "Ocean", "Mountain", "Forest", "River", "Lake", "Desert", "Snow",
    "Rain", "Storm", "Weather", "Traffic", "Transit", "Bike", "Train", "Car", "EV", "Solar",
    "Wind", "Energy", "Health", "Fitness", "Yoga", "Running", "Swim", "Hike", "Climb", "Ski",
    "Surf", "Skate", "Dance", "Theatre", "Opera", "Art", "Sketch", "Paint", "Craft", "Knit",
    "Quilt", "Pottery", "Wood", "Lego", "Robot", "Drone", "Maker", "Science", "Math", "History",
    "Language", "Travel", "Food", "Fashion", "Beauty", "Parenting", "School", "College",
    "Career", "Money", "Stock", "Market", "Housing", "Election", "Policy", "Law", "Court",
    "Union", "Labor", "Farm", "Harvest", "Pumpkin", "Autumn", "Winter", "Holiday", "Family",
    "Wedding", "Pet", "Podcast", "Radio", "News", "Media", "Meme", "Vinyl", "Synth", "Guitar",
    "Piano", "Drum", "Choir", "Festival",
)  # fmt: skip
_SUFFIXES = (
    "Tips", "News", "Life", "Fans", "Week", "Day", "Talk", "Community", "Club", "Art", "Photos",
    "Live", "Update", "Goals", "Vibes", "Memes", "Jobs", "Events", "Summit", "Conf", "Meetup",
    "Challenge", "Night", "Morning", "Chat", "Facts", "Lovers", "Nation", "Squad", "Team",
    "Project", "Lab", "Hub", "Daily", "Weekly", "Trivia", "Quiz", "Hacks", "Guide", "Review",
    "Deals", "Market", "History", "Pride", "Stories", "Moments", "Journal", "Diary", "Notes",
    "Crew", "World", "Zone", "Corner", "Time", "Season", "Fest", "Tour", "Cup", "League",
    "Awards", "Classics", "Finds", "Setup", "Build", "Study", "Hour", "Break", "Show", "Watch",
    "Alert", "Report", "Forum", "Circle", "Collective", "Society", "Network", "Academy",
    "School", "Studio", "Kitchen", "Garden", "Weekend", "Friday", "Monday", "Sunday", "Saturday",
    "Tuesday", "Wednesday", "Thursday", "Recap", "Highlights", "Preview", "Spotlight",
    "Feature", "Mood", "Aesthetic", "Core", "Tok",
)  # fmt: skip
_PLACES = (
    "London", "Paris", "NewYork", "NYC", "Tokyo", "Berlin", "Madrid", "Rome", "Seoul", "Sydney",
    "Toronto", "Chicago", "Boston", "Seattle", "Austin", "Denver", "Miami", "Dallas", "Atlanta",
    "Portland", "LA", "SF", "Vancouver", "Montreal", "Dublin", "Glasgow", "Manchester",
    "Liverpool", "Leeds", "Bristol", "Amsterdam", "Brussels", "Vienna", "Zurich", "Oslo",
    "Stockholm", "Helsinki", "Copenhagen", "Warsaw", "Prague", "Budapest", "Athens", "Lisbon",
    "Milan", "Naples", "Munich", "Hamburg", "Cologne", "Lagos", "Nairobi", "Cairo", "Dubai",
    "Mumbai", "Delhi", "Bangalore", "Singapore", "Manila", "Jakarta", "Bangkok", "Osaka",
    "Kyoto", "Busan", "Taipei", "Melbourne", "Auckland", "Lima", "Bogota", "Santiago",
    "BuenosAires", "Texas", "California", "Florida", "Ohio", "Scotland", "Wales", "Ireland",
    "Canada", "Australia", "Kenya", "Nigeria",
)  # fmt: skip
_ADJECTIVES = (
    "Daily", "Weekly", "Late", "Best", "Local", "Indie", "Retro", "Urban", "Wild", "Tiny",
    "Big", "Slow", "Fast", "Open", "Free", "Green", "Blue", "Red", "Golden", "Dark", "Bright",
    "Quiet", "Loud", "Happy", "Sad", "Cozy", "Spooky", "Epic", "Real", "Modern", "Classic",
    "Vintage", "Future", "Smart", "Simple", "Pure", "Global", "Home", "Street", "Night",
    "Morning", "Weekend", "Summer", "Fall", "Spring", "First", "Last", "New", "Old", "Good",
)  # fmt: skip
_YEARS = ("2025", "2026", "2027")
_LANG_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    # lang: (first parts, second parts, joiner); "" joiner with CamelCase for Latin scripts.
    "es": (
        ("Fútbol", "Cine", "Música", "Noticias", "Café", "Viaje", "Libro", "Comida", "Arte"),
        ("México", "España", "Madrid", "Lima", "Bogotá", "Chile", "Hoy", "Diario", "Latino"),
        "",
    ),
    "ja": (
        ("東京", "大阪", "京都", "札幌", "福岡", "名古屋", "横浜", "神戸", "奈良", "沖縄"),
        ("グルメ", "カフェ", "散歩", "写真", "ラーメン", "紅葉", "旅行", "ライブ", "ニュース",
         "天気"),
        "",
    ),
    "pt": (
        ("Futebol", "Música", "Cinema", "Notícias", "Comida", "Viagem", "Arte", "Livro"),
        ("Brasil", "Lisboa", "Porto", "Bahia", "Recife", "Hoje", "Diário", "Sampa"),
        "",
    ),
    "de": (
        ("Fußball", "Kaffee", "Wetter", "Bahn", "Kultur", "Musik", "Kino", "Garten", "Kunst"),
        ("Berlin", "München", "Köln", "Leipzig", "Dresden", "Bremen", "Heute", "Liebe", "Tipps"),
        "",
    ),
    "fr": (
        ("Cinéma", "Musique", "Café", "Vélo", "Cuisine", "Livre", "Foot", "Météo", "Art"),
        ("Paris", "Lyon", "Lille", "Nantes", "Bordeaux", "Québec", "Jour", "Soir", "Passion"),
        "",
    ),
    "ko": (
        ("서울", "부산", "대구", "인천", "제주", "광주"),
        ("맛집", "카페", "여행", "일상", "사진", "축구", "야구", "뉴스"),
        "",
    ),
    "tr": (
        ("Futbol", "Müzik", "Sinema", "Kahve", "Yemek", "Gezi", "Kitap", "Sanat"),
        ("İstanbul", "Ankara", "İzmir", "Bursa", "Antalya", "Günlük", "Sevgisi", "Keyfi"),
        "",
    ),
    "ar": (
        ("أخبار", "كرة", "مطاعم", "سفر", "ثقافة", "تقنية", "طقس", "سينما"),
        ("الرياض", "جدة", "القاهرة", "دبي", "عمان", "بيروت", "الدوحة", "تونس"),
        "_",
    ),
    "ru": (
        ("новости", "погода", "футбол", "кино", "музыка", "кофе", "еда"),
        ("Москвы", "Питера", "Казани", "дня", "недели", "России"),
        "_",
    ),
    "hi": (
        ("खबर", "मौसम", "खेल", "फिल्म", "संगीत", "खाना"),
        ("दिल्ली", "मुंबई", "जयपुर", "पटना", "आज", "भारत"),
        "_",
    ),
    "fa": (
        ("اخبار", "هوای", "فوتبال", "کتاب", "موسیقی", "سینما"),
        ("تهران", "اصفهان", "شیراز", "تبریز", "امروز", "ایران"),
        "_",
    ),
    "zh": (
        ("北京", "上海", "广州", "深圳", "成都", "杭州"),
        ("美食", "旅行", "天气", "新闻", "电影", "咖啡"),
        "",
    ),
    "uk": (("новини", "погода", "футбол", "кава"), ("Києва", "Львова", "Одеси", "дня"), "_"),
    "he": (("חדשות", "מזג_אוויר", "כדורגל", "אוכל"), ("תל_אביב", "חיפה", "ירושלים", "היום"), "_"),
    "el": (("ειδήσεις", "καιρός", "μουσική", "φαγητό"), ("Αθήνα", "Κρήτη", "Πάτρα", "σήμερα"), "_"),
}  # fmt: skip

# Text bodies: (first half, second half) per language; a post is
# [start tags] [@mention] first [middle tags] second [emoji] [url] [end tags].
# No '#', '＃', '&' or '@' in any phrase except the deliberate non-tags "#1" and "C#".
_PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        (
            "Just finished reading about", "Can't stop thinking about", "Hot take on",
            "Quick thread on", "Anyone else following", "Big news today about",
            "Spent the whole evening on", "Honestly impressed by", "Not sure how I feel about",
            "New blog post on", "Finally tried", "Learning C# and F# this week, plus",
            "Tiny win today with", "Long day, but", "This changes everything for",
            "Unpopular opinion about", "Saw a great talk on", "My weekend project:",
            "Reminder that", "Live now:", "Three things I learned from", "Watching the game and",
            "Ran 10k this morning, then", "Coffee first, then", "The best part of today was",
        ),
        (
            "and I have questions.", "what a time to be alive!", "thoughts?",
            "more soon.", "the details matter.", "link below.", "we're #1 again!",
            "highly recommend.", "this is not a drill.", "absolutely worth it.",
            "can't wait for next week.", "let me know what you think.", "so good.",
            "still processing this.", "bookmarking for later.", "the numbers are wild.",
            "what a finish!", "who else is watching?", "it finally works.",
            "proud of this team.", "send help.", "a thread follows.", "10/10 would do again.",
            "the crowd went wild.", "sources in the replies.",
        ),
    ),
    "es": (
        (
            "Acabo de leer sobre", "No puedo dejar de pensar en", "Gran noticia hoy sobre",
            "Por fin probé", "Hilo rápido sobre", "Qué partido el de hoy, y",
            "Mi proyecto del fin de semana:", "Alguien más sigue", "Recordatorio:",
        ),
        (
            "y tengo preguntas.", "¡qué golazo!", "¿opiniones?", "más pronto.",
            "muy recomendado.", "no me lo esperaba.", "¡vamos!", "increíble.",
            "lo comparto por aquí.",
        ),
    ),
    "ja": (
        (
            "今日は", "さっき見た", "ついに", "週末は", "最近ハマっている", "朝から",
            "久しぶりに", "友達と",
        ),
        (
            "最高でした。", "楽しかった！", "また行きたい。", "感動した。", "おすすめです。",
            "びっくりした。", "ありがとうございました。", "疲れたけど満足。",
        ),
    ),
    "pt": (
        (
            "Acabei de ler sobre", "Não consigo parar de pensar em", "Grande notícia hoje:",
            "Finalmente experimentei", "Que jogo foi esse, e", "Alguém mais acompanhando",
            "Bom dia! Hoje tem",
        ),
        (
            "e tenho dúvidas.", "que golaço!", "o que vocês acham?", "recomendo muito.",
            "inacreditável.", "vamos!", "mais em breve.",
        ),
    ),
    "de": (
        (
            "Gerade gelesen über", "Kann nicht aufhören, an", "Große Neuigkeiten heute zu",
            "Endlich ausprobiert:", "Kurzer Thread zu", "Mein Wochenendprojekt:",
            "Schon wieder Verspätung bei der Bahn, aber", "Heute Abend gibt es",
        ),
        (
            "und ich habe Fragen.", "was für ein Spiel!", "Meinungen?", "mehr bald.",
            "sehr empfehlenswert.", "unglaublich.", "bin gespannt.", "Prost!",
        ),
    ),
    "fr": (
        (
            "Je viens de lire un article sur", "Je n'arrête pas de penser à",
            "Grosse nouvelle aujourd'hui :", "Enfin testé", "Petit fil sur",
            "Mon projet du week-end :", "Quel match ce soir, et",
        ),
        (
            "et j'ai des questions.", "quelle fin !", "vos avis ?", "la suite bientôt.",
            "je recommande.", "incroyable.", "on y croit !",
        ),
    ),
    "ko": (
        ("오늘은", "드디어", "주말에", "친구랑", "아침부터", "요즘 빠져 있는"),
        ("최고였어요.", "너무 재밌었다!", "또 가고 싶다.", "감동했어요.", "추천합니다."),
    ),
    "tr": (
        ("Az önce okudum:", "Bugün büyük haber:", "Sonunda denedim:", "Ne maçtı ama, ve"),
        ("sorularım var.", "harika!", "ne düşünüyorsunuz?", "kesinlikle tavsiye ederim."),
    ),
    "ar": (
        ("قرأت للتو عن", "خبر كبير اليوم عن", "أخيرا جربت", "مباراة رائعة اليوم و"),
        ("ولدي أسئلة.", "رائع جدا!", "ما رأيكم؟", "أنصح به بشدة."),
    ),
    "ru": (
        ("Только что прочитал про", "Большие новости сегодня:", "Наконец попробовал",
         "Какой матч,"),
        ("и у меня вопросы.", "это было круто!", "что думаете?", "очень рекомендую."),
    ),
    "hi": (
        ("अभी पढ़ा", "आज की बड़ी खबर:", "आखिरकार देखा", "क्या मैच था,"),
        ("और मेरे कुछ सवाल हैं।", "शानदार!", "आप क्या सोचते हैं?", "ज़रूर देखिए।"),
    ),
    "fa": (
        ("همین الان خواندم درباره", "خبر مهم امروز:", "بالاخره امتحان کردم", "چه بازی‌ای بود،"),
        ("و چند سؤال دارم.", "عالی بود!", "نظرتان چیست؟", "پیشنهاد می‌کنم."),
    ),
    "zh": (
        ("刚刚看了", "今天的大新闻：", "终于试了", "周末去了"),
        ("太棒了！", "大家怎么看？", "强烈推荐。", "还想再去。"),
    ),
    "uk": (
        ("Щойно прочитав про", "Великі новини сьогодні:", "Нарешті спробував"),
        ("і маю питання.", "це було чудово!", "що думаєте?"),
    ),
    "he": (
        ("הרגע קראתי על", "חדשות גדולות היום:", "סוף סוף ניסיתי"),
        ("ויש לי שאלות.", "מדהים!", "מה דעתכם?"),
    ),
    "el": (
        ("Μόλις διάβασα για", "Μεγάλα νέα σήμερα:", "Επιτέλους δοκίμασα"),
        ("και έχω ερωτήσεις.", "φανταστικό!", "τι λέτε;"),
    ),
    # Pseudo-languages for the planted trends (posted with lang "en").
    "_burst": (
        (
            "The sky over the lake is glowing green right now", "Never seen anything like this,",
            "Step outside and look north", "Aurora visible from the city tonight,",
            "Woke the kids up for this", "Pink and green pillars overhead,",
            "Phone camera picked up so much colour", "The forecast said strong activity, and",
        ),
        (
            "unreal.", "go look up!", "photos do not do it justice.", "absolutely magical.",
            "best night of the year.", "my neighbours are all outside too.",
            "still shaking.", "the whole horizon is lit.",
        ),
    ),
    "_spam": (
        ("FREE tokens for the first 1000 wallets", "Claim your airdrop before it ends",
         "Last chance: free crypto giveaway", "Limited spots left for the token drop"),
        ("connect your wallet now", "guaranteed 100x", "do not miss out", "ends in 1 hour"),
    ),
    "_steady": (
        ("Good morning everyone", "Morning all, coffee is ready", "Rise and shine",
         "Good morning from the balcony", "Early walk done", "Sun is up"),
        ("have a great day.", "let's go.", "be kind today.", "enjoy your day!",
         "one step at a time.", "make it count."),
    ),
}  # fmt: skip

_EMOJI = (
    "🎉", "🔥", "😂", "❤️", "👍", "🙏", "🚀", "😍", "⚽", "📸", "🤔", "✨", "👨‍👩‍👧", "🇯🇵",
    "✌️", "🎃", "🍂", "☕", "🌧️", "💯",
)  # fmt: skip
_URLS = (
    "https://example.com/a#frag", "https://example.org/news/2026/10/story#comments",
    "https://example.com/#pricing", "https://example.net/watch?v=dQw4w9WgXcQ",
    "https://blog.example.com/posts/rust-in-production", "https://example.com/docs/guide#install",
    "https://example.org/live", "https://example.com/p/8841?utm_source=social",
    "https://shop.example.net/item/42#reviews", "https://example.com/",
)  # fmt: skip
_FIRST_NAMES = (
    "maria", "james", "yuki", "lena", "ahmed", "sofia", "liam", "chen", "ana", "omar", "emma",
    "noah", "hana", "lucas", "fatima", "ivan", "olga", "mateo", "priya", "arjun", "sara",
    "david", "mei", "kenji", "jin", "minji", "elif", "can", "zeynep", "mehmet", "lea", "jonas",
    "clara", "paul", "chloe", "hugo", "ines", "joao", "bruna", "rafael", "nadia", "reza",
    "leila", "noam", "tamar", "nikos", "eleni", "taras", "oksana", "aisha", "kwame", "amara",
    "tom", "kate", "alex", "sam", "jo", "max", "nina", "ole",
)  # fmt: skip
_HANDLE_WORDS = (
    "fox", "writes", "codes", "runs", "bakes", "dev", "photo", "music", "smith", "garcia",
    "tanaka", "kim", "mueller", "silva", "rossi", "novak", "ivanov", "sato", "lee", "khan",
    "patel", "dubois", "weber", "santos", "moon", "sky", "river", "stone", "wolf", "bear",
    "owl", "cat", "pixel", "byte", "loop", "data", "art", "books", "tea", "coffee", "vinyl",
    "hike", "trail", "bike", "field", "north", "south", "west", "east", "atlas", "nova",
    "echo", "delta", "ember", "frost", "maple", "cedar", "birch", "jazz",
)  # fmt: skip
_INSTANCES = (
    "mastodon.social", "fosstodon.org", "mstdn.jp", "chaos.social", "hachyderm.io",
    "mastodon.online", "det.social", "piaille.fr",
)  # fmt: skip
_CSV_TAG_SEP = " "


# --------------------------------------------------------------------------
# Random numbers: splitmix64 over (seed, stream, row), vectorised in polars
# --------------------------------------------------------------------------

_M64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15


def _splitmix_int(x: int) -> int:
    x = (x + _GAMMA) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _u64(v: int) -> pl.Expr:
    return pl.lit(v, dtype=pl.UInt64())


def _splitmix(x: pl.Expr) -> pl.Expr:
    """splitmix64's finaliser; polars UInt64 arithmetic wraps, so this matches the int version."""
    x = x + _u64(_GAMMA)
    x = x.xor(x // _u64(1 << 30)) * _u64(0xBF58476D1CE4E5B9)
    x = x.xor(x // _u64(1 << 27)) * _u64(0x94D049BB133111EB)
    return x.xor(x // _u64(1 << 31))


def _bits(x: pl.Expr, shift: int, width: int) -> pl.Expr:
    """A uniform float in [0, 1) from ``width`` bits of ``x`` starting at bit ``shift``."""
    part = x // _u64(1 << shift) if shift else x
    if shift + width < 64:
        part = part % _u64(1 << width)
    return part.cast(pl.Float64()) * (1.0 / (1 << width))


def _u16(col: str, i: int) -> pl.Expr:
    """The i-th (0..3) 16-bit uniform of a 64-bit random column."""
    return _bits(pl.col(col), 16 * i, 16)


def _u32(col: str, i: int) -> pl.Expr:
    """The i-th (0..1) 32-bit uniform of a 64-bit random column."""
    return _bits(pl.col(col), 32 * i, 32)


def _pick(u: pl.Expr, n: int | pl.Expr) -> pl.Expr:
    """A uniform integer in [0, n) from a uniform float."""
    return (u * n).floor().cast(pl.Int64())


def _cdf(weights: tuple[float, ...] | list[float]) -> list[float]:
    total = float(sum(weights))
    acc, out = 0.0, []
    for w in weights:
        acc += w
        out.append(acc / total)
    out[-1] = 1.0
    return out


def _choose(u: pl.Expr, weights: tuple[float, ...] | list[float]) -> pl.Expr:
    """Index of a weighted choice (inverse CDF), from a uniform float."""
    cdf = pl.Series(_cdf(weights)[:-1], dtype=pl.Float64())
    return pl.lit(cdf).search_sorted(u, side="right").cast(pl.Int64())


def _zipf(u: pl.Expr, size: pl.Expr | int, q: float) -> pl.Expr:
    """Zipf-like rank in [0, size): P(r) ~ 1/(r+q) (continuous inverse CDF, exponent 1)."""
    size_f = size.cast(pl.Float64()) if isinstance(size, pl.Expr) else pl.lit(float(size))
    ratio = (size_f + q) / q
    r = (ratio.log() * u).exp() * q - q
    return pl.min_horizontal(r.floor().cast(pl.Int64()), (size_f - 1).cast(pl.Int64()))


def _pareto(u: pl.Expr, alpha: float, cap: int) -> pl.Expr:
    """Heavy-tailed non-negative count: floor((1-u)^(-1/alpha)) - 1, capped."""
    v = ((1.0 - u).log() * (-1.0 / alpha)).exp().floor() - 1
    return pl.min_horizontal(v, pl.lit(float(cap))).cast(pl.Int64())


# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------


def tag_key(tag: str) -> str:
    """The contract's tag key: NFKC, then full case folding."""
    return unicodedata.normalize("NFKC", tag).casefold()


def _case_variants(display: str) -> tuple[str, str, str]:
    """(display, lower, upper); a variant that would change the key or add marks is the display."""
    if display.isascii():  # ASCII: lower/upper never change the key
        return display, display.lower(), display.upper()
    key = tag_key(display)
    marks = {c for c in display if unicodedata.category(c).startswith("M")}
    out = [display]
    for v in (display.lower(), display.upper()):
        new_marks = {c for c in v if unicodedata.category(c).startswith("M")} - marks
        out.append(v if tag_key(v) == key and not new_marks else display)
    return out[0], out[1], out[2]


@dataclass(frozen=True)
class Vocab:
    tags: tuple[str, ...]
    """Display forms; ids are positions. Planted tags are the last ``len(PLANTED_TAGS)``."""
    forms: pl.Series
    """3 spellings per tag id (display, lower, upper) at 3*id .. 3*id+2."""
    seg_names: tuple[str, ...]
    seg_offset: tuple[int, ...]
    seg_size: tuple[int, ...]

    @property
    def size(self) -> int:
        return len(self.tags)

    def planted_id(self, tag: str) -> int:
        return self.tags.index(tag)


def _synthetic_global() -> list[str]:
    """About 60k compound tags, in a fixed pseudo-random order (independent of --seed)."""
    rng = random.Random(2026)
    pools: list[list[str]] = [
        [t + s for t in _TOPICS for s in _SUFFIXES],
        [p + s for p in _PLACES for s in _SUFFIXES],
        [a + t for a in _ADJECTIVES for t in _TOPICS],
        [p + t for p in _PLACES for t in _TOPICS],
        [a + p for a in _ADJECTIVES for p in _PLACES],
        [a + s for a in _ADJECTIVES for s in _SUFFIXES],
        [t + y for t in _TOPICS + _PLACES for y in _YEARS],
    ]
    out = [tag for pool in pools for tag in pool]
    rng.shuffle(out)  # every part of the tail mixes all shapes
    # Three in ten of the long tail are written in lower case by most people.
    lower = [rng.random() < 0.3 for _ in out]
    return [t.lower() if low else t for t, low in zip(out, lower, strict=True)]


def _synthetic_lang(lang: str) -> list[str]:
    firsts, seconds, joiner = _LANG_PARTS.get(lang, ((), (), ""))
    rng = random.Random(f"tags-{lang}")
    out = [a + joiner + b for a in firsts for b in seconds]
    rng.shuffle(out)
    return out


def default_vocab_size(n_posts: int) -> int:
    return max(300, min(MAX_VOCAB, n_posts // 20))


@lru_cache(maxsize=4)
def build_vocab(size: int) -> Vocab:
    """About ``size`` tags: per-language segments plus a global one, keys unique."""
    seen: set[str] = {tag_key(t) for t in PLANTED_TAGS}
    weights = dict(zip(LANGS, LANG_WEIGHTS, strict=True))
    seg_tags: dict[str, list[str]] = {}
    for lang in LANGS[1:]:
        candidates = list(CURATED.get(lang, ())) + _synthetic_lang(lang)
        want = max(min(8, len(candidates)), round(size * weights[lang] * 0.5))
        chosen: list[str] = []
        for t in candidates:
            if len(chosen) >= want:
                break
            if tag_key(t) not in seen:
                seen.add(tag_key(t))
                chosen.append(t)
        seg_tags[lang] = chosen
    want_global = max(50, size - sum(len(v) for v in seg_tags.values()))
    chosen = []
    for t in (*CURATED["global"], *_synthetic_global()):
        if len(chosen) >= want_global:
            break
        if tag_key(t) not in seen:
            seen.add(tag_key(t))
            chosen.append(t)
    seg_tags = {"global": chosen, **seg_tags}
    names: list[str] = []
    offsets: list[int] = []
    sizes: list[int] = []
    tags: list[str] = []
    for name, seg in seg_tags.items():
        names.append(name)
        offsets.append(len(tags))
        sizes.append(len(seg))
        tags.extend(seg)
    tags.extend(PLANTED_TAGS)
    forms = [f for t in tags for f in _case_variants(t)]
    return Vocab(
        tags=tuple(tags),
        forms=pl.Series("forms", forms, dtype=pl.String()),
        seg_names=tuple(names),
        seg_offset=tuple(offsets),
        seg_size=tuple(sizes),
    )


# --------------------------------------------------------------------------
# Options and summary
# --------------------------------------------------------------------------

NDJSON_DEFECTS = ("broken_json", "missing_author", "naive_timestamp", "bad_likes")
CSV_DEFECTS = ("missing_author", "naive_timestamp", "bad_likes", "bad_timestamp")
PARQUET_DEFECTS = ("missing_author", "naive_timestamp", "bad_timestamp")
ALL_DEFECTS = ("broken_json", "missing_author", "naive_timestamp", "bad_likes", "bad_timestamp")
TIMESTAMP_STYLES = ("utc", "mixed")
CANONICAL_COLUMNS = (
    "id", "created_at", "platform", "author", "text", "lang",
    "likes", "reposts", "replies", "quotes", "hashtags",
)  # fmt: skip
INTERNAL_COLUMNS = ("_ts", "_ms", "_tags", "_kind", "_defect")
"""Extra columns of ``generate(..., internal=True)``: epoch seconds, milliseconds,
the tags as written (also where ``hashtags`` is absent), planted kind and defect."""
KINDS = ("organic", "burst", "spam", "steady")
_CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "created_at": pl.String(),
    "platform": pl.String(),
    "author": pl.String(),
    "text": pl.String(),
    "lang": pl.String(),
    "likes": pl.Int64(),
    "reposts": pl.Int64(),
    "replies": pl.Int64(),
    "quotes": pl.Int64(),
    "hashtags": pl.List(pl.String()),
}


def parse_end(value: str) -> datetime:
    """An RFC 3339 instant (``Z`` or offset) or a date (its midnight UTC), as aware UTC."""
    text = value.strip().replace("z", "Z")
    if len(text) == 10:
        text += "T00:00:00Z"
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"--end needs a time zone (e.g. Z): {value!r}")
    return dt.astimezone(UTC)


@dataclass(frozen=True)
class GenOptions:
    """Everything that shapes the output besides the number of rows."""

    seed: int = 0
    days: int = DEFAULT_DAYS
    end: datetime = field(default_factory=lambda: parse_end(DEFAULT_END))
    dup_rate: float = 0.0
    bad_rate: float = 0.0
    plant_trends: bool = False
    timestamps: str = "utc"
    vocab_size: int | None = None
    authors: int | None = None
    batch_size: int = DEFAULT_BATCH
    defects: tuple[str, ...] = NDJSON_DEFECTS

    def check(self, n_rows: int) -> None:
        if n_rows < 0:
            raise ValueError("--posts must be >= 0")
        if self.days < 1:
            raise ValueError("--days must be >= 1")
        if not 0 <= self.dup_rate < 0.5:
            raise ValueError("--dup-rate must be in [0, 0.5)")
        if not 0 <= self.bad_rate < 0.5:
            raise ValueError("--bad-rate must be in [0, 0.5)")
        if self.dup_rate + self.bad_rate > 0.6:
            raise ValueError("--dup-rate + --bad-rate must be <= 0.6")
        if self.timestamps not in TIMESTAMP_STYLES:
            raise ValueError(f"--timestamps must be one of {', '.join(TIMESTAMP_STYLES)}")
        if self.batch_size < 1000:
            raise ValueError("--batch-size must be >= 1000")
        if not self.defects or any(d not in ALL_DEFECTS for d in self.defects):
            raise ValueError(f"defects must be a non-empty subset of {ALL_DEFECTS}")
        if not 0 <= self.seed < 1 << 32:
            raise ValueError("--seed must be in [0, 2**32)")


def default_author_pool(n_rows: int) -> int:
    """Accounts per platform to draw from; about n/5 of them end up posting (large n)."""
    return max(200, round(n_rows * 0.105))


@dataclass
class Summary:
    """What was planted; printed as one JSON line on stderr by the CLI."""

    rows: int = 0
    """Lines/rows written."""
    posts: int = 0
    """Well-formed rows (rows - bad_rows)."""
    unique_posts: int = 0
    """Distinct (platform, id) among well-formed rows."""
    duplicates: int = 0
    """Well-formed rows that repeat an earlier (platform, id): posts - unique_posts."""
    bad_rows: int = 0
    defects: dict[str, int] = field(default_factory=dict)
    distinct_tags: int = 0
    """Distinct tag keys (NFKC + casefold) over well-formed rows."""
    distinct_authors: int = 0
    """Distinct (platform, author) over well-formed rows."""
    with_own_hashtags: int = 0
    """Well-formed fresh rows that carry a ``hashtags`` list."""
    planted: dict[str, Any] = field(default_factory=dict)
    """Per planted trend: tag, posts (unique), authors (distinct)."""
    seed: int = 0
    vocab_size: int = 0
    author_pool: int = 0
    first: str | None = None
    """Earliest created_at of a well-formed row (UTC, to the second)."""
    last: str | None = None
    """Latest created_at of a well-formed row (UTC, to the second)."""


def _planted_counts(n_rows: int, opts: GenOptions) -> dict[str, int]:
    if not opts.plant_trends or n_rows == 0:
        return {"burst": 0, "spam": 0, "steady": 0}
    f = min(1.0, n_rows / 5000)
    counts = {
        "burst": round(max(250 * f, n_rows * 0.001)),
        "spam": round(600 * f),
        "steady": round(n_rows * 0.05),
    }
    room = int(n_rows * (1 - opts.dup_rate - opts.bad_rate) * 0.5)
    total = sum(counts.values())
    if total > room:  # tiny n: keep the planted rows under half of the well-formed ones
        counts = {k: v * room // total for k, v in counts.items()}
    return counts


# --------------------------------------------------------------------------
# Vectorised batch construction
# --------------------------------------------------------------------------


def _lookup(values: list[str] | tuple[str, ...]) -> pl.Series:
    return pl.Series(values, dtype=pl.String())


def _flatten(groups: list[tuple[str, ...]]) -> tuple[pl.Series, list[int], list[int]]:
    flat: list[str] = []
    offsets, counts = [], []
    for g in groups:
        offsets.append(len(flat))
        counts.append(len(g))
        flat.extend(g)
    return _lookup(flat), offsets, counts


_PHRASE_LANGS = (*LANGS, "_burst", "_spam", "_steady")
_FIRSTS, _FIRST_OFF, _FIRST_CNT = _flatten([_PHRASES[lang][0] for lang in _PHRASE_LANGS])
_SECONDS, _SECOND_OFF, _SECOND_CNT = _flatten([_PHRASES[lang][1] for lang in _PHRASE_LANGS])
_B32 = "234567abcdefghijklmnopqrstuvwxyz"
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_N_STREAMS = 14
_KIND_BURST, _KIND_SPAM, _KIND_STEADY = 1, 2, 3


def _digits(v: pl.Expr, base: int, width: int, alphabet: str) -> pl.Expr:
    """Fixed-width base-``base`` rendering of a UInt64 expression."""
    table = pl.lit(_lookup(list(alphabet)))
    parts = [
        table.gather(((v // _u64(base ** (width - 1 - i))) % _u64(base)).cast(pl.Int64()))
        for i in range(width)
    ]
    return pl.concat_str(parts)


def _lang_cdf_table() -> tuple[pl.Series, int]:
    """Per-platform language CDFs, shifted by the platform index, for one search_sorted."""
    values: list[float] = []
    for p_idx, platform in enumerate(PLATFORMS):
        boost = LANG_BOOST.get(platform, {})
        weights = [w * boost.get(lang, 1.0) for lang, w in zip(LANGS, LANG_WEIGHTS, strict=True)]
        values.extend(p_idx + c for c in _cdf(weights))
    return pl.Series(values, dtype=pl.Float64()), len(LANGS)


class PostGenerator:
    """Yields canonical rows batch by batch; ``summary`` is complete once exhausted."""

    def __init__(self, n_rows: int, opts: GenOptions | None = None) -> None:
        self.opts = opts or GenOptions()
        self.opts.check(n_rows)
        if n_rows > MAX_ROWS:
            raise ValueError(f"--posts must be <= {MAX_ROWS:,} (ids stay unique up to there)")
        self.n = n_rows
        self.vocab = build_vocab(self.opts.vocab_size or default_vocab_size(n_rows))
        self.pool = self.opts.authors or default_author_pool(n_rows)
        self.total_dups = round(n_rows * self.opts.dup_rate)
        self.total_bad = round(n_rows * self.opts.bad_rate)
        self.planted = _planted_counts(n_rows, self.opts)
        self.end_s = int(self.opts.end.timestamp())
        self.start_s = self.end_s - self.opts.days * 86_400
        self._consts = [_splitmix_int((self.opts.seed << 8) + k) for k in range(_N_STREAMS + 2)]
        self.summary = Summary(
            rows=n_rows,
            bad_rows=self.total_bad,
            duplicates=self.total_dups,
            posts=n_rows - self.total_bad,
            unique_posts=n_rows - self.total_bad - self.total_dups,
            seed=self.opts.seed,
            vocab_size=self.vocab.size - len(PLANTED_TAGS),
            author_pool=self.pool,
        )
        self._tag_seen = pl.Series("seen", [False] * self.vocab.size, dtype=pl.Boolean())
        self._author_seen = pl.Series(
            "seen", [False] * (len(PLATFORMS) * (self.pool + 1)), dtype=pl.Boolean()
        )
        self._planted_seen = {k: self._author_seen.clone() for k in KINDS[1:]}
        self._co_posts = 0
        self._defect_counts = dict.fromkeys(self.opts.defects, 0)
        self._first: int | None = None
        self._last: int | None = None
        self._own = 0

    # -- allocation ---------------------------------------------------------

    def _share(self, total: int, r0: int, r1: int) -> int:
        return total * r1 // self.n - total * r0 // self.n if self.n else 0

    def batches(self) -> Iterator[pl.DataFrame]:
        """Frames with the canonical columns plus :data:`INTERNAL_COLUMNS`."""
        fresh0 = 0
        dup0 = 0
        kind0 = {k: 0 for k in KINDS[1:]}
        for r0 in range(0, self.n, self.opts.batch_size):
            r1 = min(self.n, r0 + self.opts.batch_size)
            n_dup = self._share(self.total_dups, r0, r1)
            n_bad = self._share(self.total_bad, r0, r1)
            kinds = {k: self._share(self.planted[k], r0, r1) for k in KINDS[1:]}
            n_fresh = r1 - r0 - n_dup
            fresh = self._fresh(fresh0, n_fresh, n_bad, kinds, kind0)
            self._account(fresh)
            yield self._with_dups(fresh, dup0, n_dup)
            fresh0 += n_fresh
            dup0 += n_dup
            for k, v in kinds.items():
                kind0[k] += v
        self._finish()

    # -- fresh rows ---------------------------------------------------------

    def _fresh(
        self, g0: int, n: int, n_bad: int, kinds: dict[str, int], kind0: dict[str, int]
    ) -> pl.DataFrame:
        """``n`` new posts with global numbers g0..; which rows are defective or planted
        is decided by a random ranking of the rows (the first ``n_bad`` ranks are bad...)."""
        v = self.vocab
        c = self._consts
        pos = pl.int_range(0, n, dtype=pl.Int64(), eager=True)
        df = pl.DataFrame({"_pos": pos}).with_columns(_g=(pl.col("_pos") + g0).cast(pl.UInt64()))
        df = df.with_columns(
            [_splitmix(pl.col("_g").xor(_u64(c[k]))).alias(f"r{k}") for k in range(_N_STREAMS)]
        )
        # Kind of row by random rank: [bad][burst][spam][steady][organic...].
        df = df.with_columns(
            _rk=(pl.col("r10") % _u64(1 << 32)).rank("ordinal").cast(pl.Int64()) - 1
        )
        b_end = n_bad + kinds["burst"]
        s_end = b_end + kinds["spam"]
        t_end = s_end + kinds["steady"]
        p = pl.col("_rk")
        kind = (
            pl.when(p < n_bad)
            .then(0)
            .when(p < b_end)
            .then(_KIND_BURST)
            .when(p < s_end)
            .then(_KIND_SPAM)
            .when(p < t_end)
            .then(_KIND_STEADY)
            .otherwise(0)
            .cast(pl.Int8())
        )
        kind_idx = (
            pl.when(p < b_end)
            .then(p - n_bad + kind0["burst"])
            .when(p < s_end)
            .then(p - b_end + kind0["spam"])
            .otherwise(p - s_end + kind0["steady"])
        )
        lang_cdf, n_langs = _lang_cdf_table()
        df = df.with_columns(
            _kind=kind,
            _kidx=kind_idx,
            _bad=p < n_bad,
            _platform=_choose(_u16("r0", 0), PLATFORM_WEIGHTS),
            _ntags=_choose(_u16("r0", 2), TAGS_PER_POST),
        )
        is_burst = pl.col("_kind") == _KIND_BURST
        is_spam = pl.col("_kind") == _KIND_SPAM
        is_steady = pl.col("_kind") == _KIND_STEADY
        co_tag = is_burst & (_u16("r13", 3) < 0.45)
        df = df.with_columns(
            _platform=pl.when(is_spam).then(0).otherwise(pl.col("_platform")),
            _ntags=pl.when(is_spam)
            .then(1)
            .when(is_burst)
            .then(1 + co_tag.cast(pl.Int64()) + (_u16("r0", 2) < 0.25).cast(pl.Int64()))
            .when(is_steady)
            .then(pl.max_horizontal(pl.col("_ntags"), 1))
            .otherwise(pl.col("_ntags")),
        ).with_columns(
            _lang=pl.when(pl.col("_kind") > 0)
            .then(0)
            .otherwise(
                pl.lit(lang_cdf).search_sorted(pl.col("_platform") + _u16("r0", 1), side="right")
                - pl.col("_platform") * n_langs
            )
            .cast(pl.Int64()),
        )
        # Tag slots: k tags, s at the start, m in the middle, the rest at the end.
        k = pl.col("_ntags")
        df = df.with_columns(
            _s=pl.when(is_spam).then(0).otherwise(_pick(_u16("r1", 0) ** 2, k + 1))
        ).with_columns(
            _m=pl.when(is_spam).then(0).otherwise(_pick(_u16("r1", 1), k - pl.col("_s") + 1))
        )
        # Segment per language: "global" for en; other languages use their own 65% of the time.
        seg_index = {name: i for i, name in enumerate(v.seg_names)}
        lang_seg = [seg_index.get(lang, 0) for lang in LANGS]
        seg_off = pl.lit(pl.Series([v.seg_offset[s] for s in lang_seg], dtype=pl.Int64()))
        seg_size = pl.lit(pl.Series([v.seg_size[s] for s in lang_seg], dtype=pl.Int64()))
        g_size = v.seg_size[0]
        lang = pl.col("_lang")
        tag_u = [_u32("r4", 0), _u32("r4", 1), _u32("r5", 0), _u32("r5", 1)]
        seg_u = [_u16("r1", 2), _u16("r1", 3), _u16("r2", 0), _u16("r2", 1)]
        var_u = [_u16("r2", 2), _u16("r2", 3), _u16("r3", 0), _u16("r3", 1)]
        native = [(lang > 0) & (seg_u[i] < 0.65) for i in range(4)]
        ids = []
        for i in range(4):
            organic = (
                pl.when(native[i])
                .then(seg_off.gather(lang) + _zipf(tag_u[i], seg_size.gather(lang), 2.0))
                .otherwise(_zipf(tag_u[i], g_size, 2.0))
            )
            if i == 0:
                organic = (
                    pl.when(is_burst)
                    .then(v.planted_id(BURST_TAG))
                    .when(is_spam)
                    .then(v.planted_id(SPAM_TAG))
                    .when(is_steady)
                    .then(v.planted_id(STEADY_TAG))
                    .otherwise(organic)
                )
            if i == 1:
                organic = pl.when(co_tag).then(v.planted_id(BURST_CO_TAG)).otherwise(organic)
            variant = pl.when(is_spam).then(0).otherwise(_choose(var_u[i], (0.6, 0.3, 0.1)))
            ids.append(pl.when(k > i).then(organic.cast(pl.Int64()) * 3 + variant).alias(f"_f{i}"))
        df = df.with_columns(ids)
        df = df.with_columns(
            [v.forms.gather(df[f"_f{i}"].fill_null(0)).alias(f"_w{i}") for i in range(4)]
        ).with_columns(
            [
                pl.when(pl.col(f"_f{i}").is_not_null()).then(pl.col(f"_w{i}")).alias(f"_w{i}")
                for i in range(4)
            ]
        )
        df = self._timestamps(df, is_burst, is_spam, is_steady)
        df = self._authors(df, is_burst, is_spam)
        df = self._texts(df, is_spam)
        df = self._counts_and_ids(df, is_spam)
        df = self._defects(df)
        return df

    def _timestamps(
        self, df: pl.DataFrame, is_burst: pl.Expr, is_spam: pl.Expr, is_steady: pl.Expr
    ) -> pl.DataFrame:
        o = self.opts
        day = (
            pl.when(is_steady)
            .then(pl.col("_kidx") % o.days)
            .otherwise(_pick(_u16("r6", 2), o.days))
        )
        hour = _choose(_u16("r6", 3), HOUR_WEIGHTS)
        organic = self.start_s + day * 86_400 + hour * 3_600 + _pick(_u16("r7", 0), 3_600)
        u_day = _bits(pl.col("r6"), 32, 32)
        last_day = self.end_s - 86_400
        burst = last_day + (u_day.sqrt() * 86_400).floor().cast(pl.Int64())
        spam = last_day + _pick(u_day, 86_400)
        ts = pl.when(is_burst).then(burst).when(is_spam).then(spam).otherwise(organic)
        df = df.with_columns(_ts=ts.cast(pl.Int64()), _ms=(pl.col("_g") % 1000).cast(pl.Int64()))
        dt = pl.from_epoch(pl.col("_ts"), time_unit="s")
        plain = dt.dt.to_string("%Y-%m-%dT%H:%M:%S")
        utc = plain + "Z"
        if o.timestamps == "utc":
            return df.with_columns(created_at=utc)
        offsets = [
            (int(s[0] + "1") * (int(s[1:3]) * 3600 + int(s[4:6]) * 60), s) for s in TS_OFFSETS
        ]
        off_s = pl.lit(pl.Series([s for s, _ in offsets], dtype=pl.Int64()))
        off_t = pl.lit(_lookup([t for _, t in offsets]))
        which = _pick(_u16("r13", 1), len(offsets))
        local = pl.from_epoch(pl.col("_ts") + off_s.gather(which), time_unit="s")
        style = _choose(_u16("r0", 3), (0.7, 0.1, 0.1, 0.1))
        return df.with_columns(
            created_at=pl.when(style == 0)
            .then(utc)
            .when(style == 1)
            .then(plain + "." + pl.col("_ms").cast(pl.String()).str.zfill(3) + "Z")
            .when(style == 2)
            .then(local.dt.to_string("%Y-%m-%dT%H:%M:%S") + off_t.gather(which))
            .otherwise(pl.col("_ts").cast(pl.String()))
        )

    def _handle(self, rank: pl.Expr, platform: pl.Expr | None = None) -> pl.Expr:
        """A unique, plausible handle for an account rank (>= 0), in the platform's style."""
        nf, nw = len(_FIRST_NAMES), len(_HANDLE_WORDS)
        a = (rank * 7919) % (nf * nw)
        first = pl.lit(_lookup(_FIRST_NAMES)).gather(a % nf)
        word = pl.lit(_lookup(_HANDLE_WORDS)).gather(a // nf)
        num = rank // (nf * nw)
        sep = pl.lit(_lookup(["_", "", "-", ""])).gather(
            (a // nf) % 2 + (2 * (platform == 1).cast(pl.Int64()) if platform is not None else 0)
        )
        suffix = pl.when(num > 0).then(num.cast(pl.String()))
        parts = [first, sep, word, suffix]
        if platform is not None:
            # Reddit names read "word_first": no handle is the same string on two platforms.
            reddit = platform == 3
            parts = [
                pl.when(reddit).then(word).otherwise(first),
                pl.when(reddit).then(pl.lit("_")).otherwise(sep),
                pl.when(reddit).then(first).otherwise(word),
                suffix,
            ]
            at = pl.lit(_lookup([f"@{i}" for i in _INSTANCES])).gather(rank % len(_INSTANCES))
            parts.append(
                pl.when(platform == 2).then(at).when(platform == 1).then(pl.lit(".bsky.social"))
            )
        return pl.concat_str(parts, ignore_nulls=True)

    def _authors(self, df: pl.DataFrame, is_burst: pl.Expr, is_spam: pl.Expr) -> pl.DataFrame:
        u = _u32("r6", 0)
        rank = (
            pl.when(is_spam)
            .then(self.pool)
            .when(is_burst)
            .then(_pick(u, self.pool))
            .otherwise(_zipf(u, self.pool, 25.0))
        )
        df = df.with_columns(_rank=rank.cast(pl.Int64()))
        handle = self._handle(pl.col("_rank"), pl.col("_platform"))
        return df.with_columns(author=pl.when(is_spam).then(pl.lit(SPAM_AUTHOR)).otherwise(handle))

    def _texts(self, df: pl.DataFrame, is_spam: pl.Expr) -> pl.DataFrame:
        k, s, m = pl.col("_ntags"), pl.col("_s"), pl.col("_m")
        cjk = pl.lit(pl.Series([lang in CJK_LANGS for lang in LANGS], dtype=pl.Boolean()))
        sign = (
            pl.when(cjk.gather(pl.col("_lang")) & (_u16("r11", 2) < 0.15))
            .then(pl.lit("＃"))
            .otherwise(pl.lit("#"))
        )
        plang = (
            pl.when(pl.col("_kind") > 0)
            .then(len(LANGS) - 1 + pl.col("_kind").cast(pl.Int64()))
            .otherwise(pl.col("_lang"))
        )
        df = df.with_columns(_plang=plang, _sign=sign)
        fo = pl.lit(pl.Series(_FIRST_OFF, dtype=pl.Int64())).gather(pl.col("_plang"))
        fc = pl.lit(pl.Series(_FIRST_CNT, dtype=pl.Int64())).gather(pl.col("_plang"))
        so = pl.lit(pl.Series(_SECOND_OFF, dtype=pl.Int64())).gather(pl.col("_plang"))
        sc = pl.lit(pl.Series(_SECOND_CNT, dtype=pl.Int64())).gather(pl.col("_plang"))
        w = [pl.col(f"_w{i}") for i in range(4)]
        df = df.with_columns(
            _first=pl.lit(_FIRSTS).gather(fo + _pick(_u16("r3", 2), fc)),
            _second=pl.lit(_SECONDS).gather(so + _pick(_u16("r3", 3), sc)),
            _tags=pl.when(k > 0)
            .then(pl.concat_str(w, separator="\x1f", ignore_nulls=True).str.split("\x1f"))
            .otherwise(pl.lit([], dtype=pl.List(pl.String()))),
            _joined=pl.concat_str(
                [pl.col("_sign") + w[i] for i in range(4)], separator=" ", ignore_nulls=True
            ),
            **{f"_len{i}": (w[i].str.len_chars() + 2).fill_null(0) for i in range(3)},
        )
        # Blocks are character ranges of "#t0 #t1 #t2 #t3" (each "#ti " is len(ti) + 2 long).
        offset = [pl.lit(0)]
        for i in range(3):
            offset.append(offset[-1] + pl.col(f"_len{i}"))

        def off(i: pl.Expr) -> pl.Expr:
            return (
                pl.when(i == 0)
                .then(0)
                .when(i == 1)
                .then(offset[1])
                .when(i == 2)
                .then(offset[2])
                .when(i == 3)
                .then(offset[3])
                .otherwise(pl.col("_joined").str.len_chars() + 1)
            )

        joined = pl.col("_joined")
        n_end = k - s - m
        df = df.with_columns(_o1=off(s), _o2=off(s + m))
        o1, o2 = pl.col("_o1"), pl.col("_o2")
        start = pl.when(s > 0).then(joined.str.slice(0, o1 - 1) + " ")
        mid = pl.when(m > 0).then(" " + joined.str.slice(o1, o2 - o1 - 1))
        mid_punct = pl.when((m > 0) & (_u16("r11", 3) < 0.35)).then(
            pl.when(_u16("r11", 3) < 0.25).then(pl.lit(",")).otherwise(pl.lit(":"))
        )
        end_sep = pl.when(_u16("r11", 1) < 0.15).then(pl.lit("\n\n")).otherwise(pl.lit(" "))
        end = pl.when(n_end > 0).then(end_sep + joined.str.slice(o2))
        end_punct = pl.when((n_end > 0) & (_u16("r11", 0) < 0.2)).then(
            pl.lit(_lookup([".", "!", "?"])).gather(_pick((_u16("r11", 0) * 5) % 1.0, 3))
        )
        emoji = pl.when(_u16("r7", 1) < 0.22).then(
            " " + pl.lit(_lookup(_EMOJI)).gather(_pick(_u16("r12", 0), len(_EMOJI)))
        )
        ref = (pl.col("_kidx") * 7 + 1000).cast(pl.String())
        url = (
            pl.when(is_spam)
            .then(" https://example.com/claim?ref=" + ref)
            .when(_u16("r7", 2) < 0.15)
            .then(" " + pl.lit(_lookup(_URLS)).gather(_pick(_u16("r12", 1), len(_URLS))))
        )
        df = df.with_columns(
            _p0=start,
            _p1=self._mentions(df, is_spam),
            _p2=mid,
            _p3=mid_punct,
            _p4=emoji,
            _p5=url,
            _p6=end,
            _p7=end_punct,
        )
        p = [pl.col(f"_p{i}") for i in range(8)]
        text = pl.concat_str(
            [p[0], p[1], pl.col("_first"), p[2], p[3], pl.lit(" "), pl.col("_second"), *p[4:]],
            ignore_nulls=True,
        )
        own_rate = pl.lit(pl.Series([OWN_TAGS_RATE[p] for p in PLATFORMS], dtype=pl.Float64()))
        own = _u16("r10", 2) < own_rate.gather(pl.col("_platform"))
        return df.with_columns(text=text, hashtags=pl.when(own).then(pl.col("_tags")))

    def _mentions(self, df: pl.DataFrame, is_spam: pl.Expr) -> pl.Series:
        """ "@handle " on 12% of the posts (none on reddit or by the spammer), else null."""
        wanted = df.select(
            ~is_spam & (pl.col("_platform") != 3) & (_u16("r7", 3) < 0.12)
        ).to_series()
        out = pl.Series("m", [None] * df.height, dtype=pl.String())
        where = wanted.arg_true()
        if where.len():
            sub = df.select("r12")[where]
            rank = _pick(_bits(pl.col("r12"), 32, 32), self.pool)
            out = out.scatter(where, sub.select("@" + self._handle(rank) + " ").to_series())
        return out

    def _counts_and_ids(self, df: pl.DataFrame, is_spam: pl.Expr) -> pl.DataFrame:
        likes = (
            pl.when(is_spam)
            .then(_pareto(_u32("r8", 0), 3.0, 5))
            .otherwise(_pareto(_u32("r8", 0), 0.95, 2_000_000))
        )
        df = df.with_columns(
            id=self._ids(df),
            platform=pl.lit(_lookup(PLATFORMS)).gather(pl.col("_platform")),
            lang=pl.lit(_lookup(LANGS)).gather(pl.col("_lang")),
            likes=likes,
            reposts=pl.when(is_spam).then(0).otherwise(_pareto(_u32("r8", 1), 1.3, 500_000)),
            replies=_pareto(_u32("r9", 0), 1.4, 100_000),
            quotes=pl.when(is_spam).then(0).otherwise(_pareto(_u32("r9", 1), 2.0, 50_000)),
        )
        return df

    def _ids(self, df: pl.DataFrame) -> pl.Series:
        """Platform-style ids, unique by construction (the global row number is in each).

        x: a snowflake (ms since 2010-11-04 << 22 | sequence); mastodon: ms << 16 |
        sequence; bluesky: a TID (us << 10 | clock id, base32-sortable); reddit: base36.
        The millisecond part is ``g % 1000``, so ids sort by time like real ones.
        """
        gnum = pl.col("_g")
        ms = pl.col("_ts").cast(pl.UInt64()) * _u64(1000) + gnum % _u64(1000)
        seq = gnum // _u64(1000)
        x_id = ((ms - _u64(1_288_834_974_657)) * _u64(1 << 22) + seq % _u64(1 << 22)).cast(
            pl.String()
        )
        masto_id = (ms * _u64(1 << 16) + seq % _u64(1 << 16)).cast(pl.String())
        ids = df.select(
            pl.when(pl.col("_platform") == 0).then(x_id).otherwise(masto_id).alias("id")
        )["id"]
        clock = (seq // _u64(1000) + pl.col("_ts").cast(pl.UInt64())) % _u64(1 << 10)
        tid = (ms * _u64(1000) + seq % _u64(1000)) * _u64(1 << 10) + clock
        rid = _u64(40_000_000_000) + gnum * _u64(3) + (pl.col("_ts") % 3).cast(pl.UInt64())
        for platform, expr in ((1, _digits(tid, 32, 13, _B32)), (3, _digits(rid, 36, 7, _B36))):
            where = (df["_platform"] == platform).arg_true()
            if where.len():
                sub = df.select("_g", "_ts")[where]
                ids = ids.scatter(where, sub.select(expr.alias("id"))["id"])
        return ids

    def _defects(self, df: pl.DataFrame) -> pl.DataFrame:
        kinds = self.opts.defects
        which = pl.lit(_lookup(kinds)).gather(_pick(_u16("r13", 0), len(kinds)))
        defect = pl.when(pl.col("_bad")).then(which)
        df = df.with_columns(_defect=defect)
        d = pl.col("_defect")
        naive = pl.from_epoch(pl.col("_ts"), time_unit="s").dt.to_string("%Y-%m-%dT%H:%M:%S")
        garbage = pl.lit(_lookup(["not a date", "2026-13-45T25:61:00Z", "yesterday 3pm"]))
        return df.with_columns(
            author=pl.when(d == "missing_author").then(None).otherwise(pl.col("author")),
            created_at=pl.when(d == "naive_timestamp")
            .then(naive)
            .when(d == "bad_timestamp")
            .then(garbage.gather(_pick(_u16("r13", 1), 3)))
            .otherwise(pl.col("created_at")),
        )

    # -- duplicates ---------------------------------------------------------

    def _with_dups(self, fresh: pl.DataFrame, d0: int, n_dup: int) -> pl.DataFrame:
        out_cols = [*CANONICAL_COLUMNS, *INTERNAL_COLUMNS]
        base = fresh.with_columns(_key=pl.col("_pos").cast(pl.Float64())).select(
            [*out_cols, "_key", "_pos"]
        )
        if n_dup == 0:
            return base.drop("_key", "_pos")
        good = base.filter(pl.col("_defect").is_null())["_pos"]
        n_fresh = base.height
        c = self._consts[_N_STREAMS]
        draws = pl.DataFrame(
            {"_d": pl.int_range(d0, d0 + n_dup, dtype=pl.UInt64(), eager=True)}
        ).with_columns(r=_splitmix((pl.col("_d") + _u64(1 << 48)).xor(_u64(c))))
        orig = good.gather(draws.select(_pick(_u32("r", 0), good.len()))["r"])
        u_pos = draws.select(_u16("r", 2))["r"]
        u_bump = draws.select(_u16("r", 3))["r"]
        copies = base.gather(orig).with_columns(
            _key=pl.col("_pos") + 0.5 + u_pos * (n_fresh - pl.col("_pos") - 1).cast(pl.Float64()),
            likes=pl.col("likes") + 1 + (pl.col("likes") * 0.5 * u_bump).floor().cast(pl.Int64()),
            reposts=pl.col("reposts") + (pl.col("reposts") * 0.3 * u_bump).floor().cast(pl.Int64()),
            replies=pl.col("replies") + (u_bump * 4).floor().cast(pl.Int64()),
        )
        return (
            pl.concat([base, copies])
            .with_row_index("_order")
            .sort("_key", "_order")
            .select(out_cols)
        )

    # -- bookkeeping --------------------------------------------------------

    def _account(self, fresh: pl.DataFrame) -> None:
        ok = fresh.filter(pl.col("_defect").is_null())
        for name, n in fresh["_defect"].drop_nulls().value_counts().iter_rows():
            self._defect_counts[name] += n
        if ok.height == 0:
            return
        tag_ids = pl.concat([ok[f"_f{i}"].drop_nulls() // 3 for i in range(4)]).unique()
        self._tag_seen = self._tag_seen.scatter(tag_ids, True)
        ok = ok.with_columns(
            _aid=pl.col("_platform").cast(pl.Int64()) * (self.pool + 1) + pl.col("_rank")
        )
        self._author_seen = self._author_seen.scatter(ok["_aid"].unique(), True)
        for kind_no, kind in enumerate(KINDS[1:], start=1):
            planted = ok.filter(pl.col("_kind") == kind_no)["_aid"].unique()
            if planted.len():
                self._planted_seen[kind] = self._planted_seen[kind].scatter(planted, True)
        co_id = self.vocab.planted_id(BURST_CO_TAG)
        self._co_posts += ok.filter(
            (pl.col("_kind") == _KIND_BURST) & (pl.col("_f1") // 3 == co_id)
        ).height
        lo, hi = ok["_ts"].min(), ok["_ts"].max()
        assert isinstance(lo, int)
        assert isinstance(hi, int)
        self._first = lo if self._first is None else min(self._first, lo)
        self._last = hi if self._last is None else max(self._last, hi)
        self._own += int(ok["hashtags"].is_not_null().sum())

    def _finish(self) -> None:
        s = self.summary
        s.distinct_tags = int(self._tag_seen.sum() or 0)
        s.distinct_authors = int(self._author_seen.sum() or 0)
        s.defects = dict(self._defect_counts) if self.total_bad else {}
        s.with_own_hashtags = self._own
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        if self._first is not None and self._last is not None:
            s.first = datetime.fromtimestamp(self._first, UTC).strftime(fmt)
            s.last = datetime.fromtimestamp(self._last, UTC).strftime(fmt)
        if self.opts.plant_trends:
            s.planted = {
                "burst": {
                    "tag": BURST_TAG,
                    "posts": self.planted["burst"],
                    "authors": int(self._planted_seen["burst"].sum() or 0),
                    "window": "last 24h",
                    "co_tag": BURST_CO_TAG,
                    "co_tag_posts": self._co_posts,
                },
                "spam": {
                    "tag": SPAM_TAG,
                    "posts": self.planted["spam"],
                    "authors": int(self._planted_seen["spam"].sum() or 0),
                    "author": SPAM_AUTHOR,
                    "platform": "x",
                    "window": "last 24h",
                },
                "steady": {
                    "tag": STEADY_TAG,
                    "posts": self.planted["steady"],
                    "authors": int(self._planted_seen["steady"].sum() or 0),
                    "per_day": self.planted["steady"] / self.opts.days,
                },
            }


# --------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------


def _options(seed: int, overrides: dict[str, Any]) -> GenOptions:
    if isinstance(overrides.get("end"), str):
        overrides = {**overrides, "end": parse_end(overrides["end"])}
    return GenOptions(seed=seed, **overrides)


def generate(
    n_posts: int, seed: int = 0, *, internal: bool = False, **options: Any
) -> Iterator[pl.DataFrame]:
    """Canonical rows, a polars frame per batch (``batch_size`` rows, default 100,000).

    ``n_posts`` is the number of rows, duplicates and malformed rows included.
    ``options`` are the fields of :class:`GenOptions` (``days``, ``end`` (str or
    datetime), ``dup_rate``, ``bad_rate``, ``plant_trends``, ``timestamps``,
    ``vocab_size``, ``authors``, ``batch_size``, ``defects``).

    Columns: :data:`CANONICAL_COLUMNS`; ``created_at`` is a string (RFC 3339, or
    epoch seconds as digits), ``hashtags`` is null where the row carries no list.
    With ``bad_rate > 0`` a ``_defect`` column names each planted defect:
    ``missing_author``, ``naive_timestamp`` and ``bad_timestamp`` are already
    in the row; ``broken_json`` and ``bad_likes`` are applied by the writers.
    ``internal=True`` keeps all of :data:`INTERNAL_COLUMNS`.
    """
    gen = PostGenerator(n_posts, _options(seed, options))
    for frame in gen.batches():
        if internal:
            yield frame
        elif gen.total_bad:
            yield frame.select(*CANONICAL_COLUMNS, "_defect")
        else:
            yield frame.select(CANONICAL_COLUMNS)


def iter_posts(n_posts: int, seed: int = 0, **options: Any) -> Iterator[dict[str, Any]]:
    """Rows as dicts, exactly as the NDJSON output holds them (no malformed rows).

    ``hashtags`` is absent where the row carries no list; epoch timestamps
    (``timestamps="mixed"``) are ints.
    """
    if options.get("bad_rate"):
        raise ValueError("iter_posts makes no malformed rows: use generate() or write_posts()")
    for frame in generate(n_posts, seed, **options):
        for line in _ndjson_lines(frame).to_list():
            yield json.loads(line)


# --------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------


def _ndjson_lines(frame: pl.DataFrame) -> pl.Series:
    """One JSON object per row; ``hashtags`` omitted where null; defects applied.

    Built with string concatenation (4x faster than ``struct.json_encode``): no
    generated string holds a quote, a backslash or a control character other than
    the newlines in ``text`` (checked by :func:`_check_tables` at import), so
    escaping newlines is all the JSON escaping needed.
    """

    text = pl.col("text").str.replace_all("\n", "\\n", literal=True)
    quote: str | pl.Expr = '"'
    if frame["created_at"].str.contains(r"^\d+$").any():
        quote = pl.when(~pl.col("created_at").str.contains(r"^\d+$")).then(pl.lit('"'))
    likes: str | pl.Expr = pl.col("likes").cast(pl.String())
    defects = "_defect" in frame.columns and frame["_defect"].is_not_null().any()
    if defects:
        likes = pl.when(pl.col("_defect") == "bad_likes").then(pl.lit('"1.2k"')).otherwise(likes)
    author: list[str | pl.Expr] = [',"author":"', pl.col("author"), '"']
    if frame["author"].has_nulls():
        has = pl.col("author").is_not_null()
        author = [
            pl.when(has).then(pl.lit(',"author":"')),
            pl.col("author"),
            pl.when(has).then(pl.lit('"')),
        ]
    tags = pl.col("hashtags")
    tags_json = (
        pl.when(tags.list.len() == 0)
        .then(pl.lit(',"hashtags":[]'))
        .when(tags.is_not_null())
        .then(pl.concat_str([pl.lit(',"hashtags":["'), tags.list.join('","'), pl.lit('"]')]))
    )
    pieces: list[str | pl.Expr] = [
        '{"id":"', pl.col("id"),
        '","created_at":', quote, pl.col("created_at"), quote,
        ',"platform":"', pl.col("platform"), '"',
        *author,
        ',"text":"', text,
        '","lang":"', pl.col("lang"),
        '","likes":', likes,
        ',"reposts":', pl.col("reposts").cast(pl.String()),
        ',"replies":', pl.col("replies").cast(pl.String()),
        ',"quotes":', pl.col("quotes").cast(pl.String()),
        tags_json,
        "}",
    ]  # fmt: skip
    merged: list[pl.Expr] = []
    pending = ""
    for piece in pieces:
        if isinstance(piece, str):
            pending += piece
            continue
        if pending:
            merged.append(pl.lit(pending))
            pending = ""
        merged.append(piece)
    merged.append(pl.lit(pending))
    line = pl.concat_str(merged, ignore_nulls=True)
    if defects:
        line = (
            pl.when(pl.col("_defect") == "broken_json")
            .then(line.str.slice(0, line.str.len_chars() // 2))
            .otherwise(line)
        )
    return frame.select(line.alias("line"))["line"]


def _check_tables() -> None:
    """Every generated string is JSON-safe without escaping (see :func:`_ndjson_lines`),
    and no table value but a URL or a known non-tag phrase holds a tag or mention sign."""
    tables: list[tuple[str, ...]] = [
        *CURATED.values(), _TOPICS, _SUFFIXES, _PLACES, _ADJECTIVES, _YEARS, _EMOJI,
        _FIRST_NAMES, _HANDLE_WORDS, _INSTANCES, PLANTED_TAGS, (SPAM_AUTHOR,), TS_OFFSETS,
        *(parts for lp in _LANG_PARTS.values() for parts in lp[:2]),
        *(half for pair in _PHRASES.values() for half in pair),
    ]  # fmt: skip
    for value in (v for table in (*tables, _URLS) for v in table):
        if any(c in '"\\\x1f' or unicodedata.category(c) == "Cc" for c in value):
            raise AssertionError(f"generator table value {value!r} needs JSON escaping")
    for value in (v for table in tables for v in table):
        if any(c in "#＃@&" for c in value) and value not in _NON_TAG_PHRASES:
            raise AssertionError(f"generator table value {value!r} holds a tag or mention sign")


_NON_TAG_PHRASES = frozenset({"Learning C# and F# this week, plus", "we're #1 again!"})
"""Phrases with a '#' that is certainly not a tag (after a letter; digits only)."""
_check_tables()


def _csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    likes: pl.Expr = pl.col("likes")
    if "_defect" in frame.columns and (frame["_defect"] == "bad_likes").any():
        likes = (
            pl.when(pl.col("_defect") == "bad_likes")
            .then(pl.lit("1.2k"))
            .otherwise(pl.col("likes").cast(pl.String()))
        )
    return frame.select(
        *CANONICAL_COLUMNS[:6],
        likes.alias("likes"),
        *CANONICAL_COLUMNS[7:10],
        pl.col("hashtags").list.join(_CSV_TAG_SEP),
    )


def format_of(path: str | Path) -> tuple[str, str | None]:
    """(format, compression) from a file name: ``x.csv.zst`` -> ("csv", "zstd")."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    compression = None
    if suffixes and suffixes[-1] in (".gz", ".zst"):
        compression = "gzip" if suffixes.pop() == ".gz" else "zstd"
    ext = suffixes[-1] if suffixes else ""
    fmt = {".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson", ".csv": "csv"}.get(ext)
    if ext in (".parquet", ".pq"):
        fmt = "parquet"
    if fmt is None:
        raise ValueError(f"{path}: unknown output format (use .ndjson, .jsonl, .csv or .parquet)")
    return fmt, compression


class _Compressed:
    """A binary sink that gzips (mtime 0, no name) or zstd-compresses deterministically."""

    def __init__(self, raw: IO[bytes], compression: str | None, level: int | None) -> None:
        self.raw = raw
        self.inner: Any
        if compression == "gzip":
            self.inner = gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=level or 6
            )
        elif compression == "zstd":
            self.inner = zstandard.ZstdCompressor(level=level or 3).stream_writer(
                raw, closefd=False
            )
        else:
            self.inner = raw

    def write(self, data: bytes) -> int:
        self.inner.write(data)
        return len(data)

    def close(self) -> None:
        if self.inner is not self.raw:
            self.inner.close()
        self.raw.flush()


def _prefetch(frames: Iterator[pl.DataFrame], depth: int = 1) -> Iterator[pl.DataFrame]:
    """Run ``frames`` in a background thread, ``depth`` batches ahead (polars releases the
    GIL, so generating the next batch overlaps with encoding and writing this one)."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for frame in frames:
                if stop.is_set():
                    return
                q.put(("frame", frame))
            q.put(("done", None))
        except BaseException as e:  # handed to the consumer
            q.put(("error", e))

    thread = threading.Thread(target=work, name="gen-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.01)


def write_frames(
    frames: Iterator[pl.DataFrame],
    out: str | Path,
    *,
    level: int | None = None,
    schema: dict[str, pl.DataType] | None = None,
) -> None:
    """Write canonical frames to ``out`` (``-``: NDJSON on stdout), format by extension."""
    if str(out) == "-":
        fmt, compression = "ndjson", None
    else:
        fmt, compression = format_of(out)
    if fmt == "parquet":
        _write_parquet(frames, Path(out), compression, level, schema)
        return
    raw: IO[bytes]
    if str(out) == "-":
        raw = sys.stdout.buffer
    else:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        raw = open(out, "wb")  # noqa: SIM115 - closed below
    sink = _Compressed(raw, compression, level)
    try:
        header = True
        for frame in frames:
            if fmt == "ndjson":
                buf = io.BytesIO()
                _ndjson_lines(frame).to_frame().write_csv(
                    buf, include_header=False, quote_style="never"
                )
                sink.write(buf.getvalue())
            else:
                buf = io.BytesIO()
                _csv_frame(frame).write_csv(buf, include_header=header)
                sink.write(buf.getvalue())
                header = False
        if fmt == "csv" and header:  # no rows at all: still a valid CSV with a header
            sink.write((",".join(CANONICAL_COLUMNS) + "\n").encode())
        sink.close()
    finally:
        if raw is not sys.stdout.buffer:
            raw.close()


def _write_parquet(
    frames: Iterator[pl.DataFrame],
    out: Path,
    compression: str | None,
    level: int | None,
    schema: dict[str, pl.DataType] | None,
) -> None:
    from polars.io.plugins import register_io_source

    schema = schema or _CANONICAL_SCHEMA

    def source(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        _b: int | None,
    ) -> Iterator[pl.DataFrame]:
        for frame in frames:
            yield frame.select(list(schema)).cast(schema)  # type: ignore[arg-type]

    out.parent.mkdir(parents=True, exist_ok=True)
    lf = register_io_source(source, schema=schema)
    if compression is None:
        lf.sink_parquet(out, compression="zstd", statistics=True)
        return
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        plain = Path(tmp) / "plain.parquet"
        lf.sink_parquet(plain, compression="zstd", statistics=True)
        with open(out, "wb") as raw, open(plain, "rb") as src:
            sink = _Compressed(raw, compression, level)
            while chunk := src.read(1 << 20):
                sink.write(chunk)
            sink.close()


def write_posts(
    out: str | Path, n_posts: int, seed: int = 0, *, level: int | None = None, **options: Any
) -> Summary:
    """Generate ``n_posts`` rows into ``out`` (format and compression by extension)."""
    if "defects" not in options:
        fmt = "ndjson" if str(out) == "-" else format_of(out)[0]
        options["defects"] = {
            "ndjson": NDJSON_DEFECTS,
            "csv": CSV_DEFECTS,
            "parquet": PARQUET_DEFECTS,
        }[fmt]
    gen = PostGenerator(n_posts, _options(seed, options))
    write_frames(_prefetch(gen.batches()), out, level=level)
    return gen.summary


# --------------------------------------------------------------------------
# The bundled sample (data/)
# --------------------------------------------------------------------------

SAMPLE_POSTS = 5000
SAMPLE_REFETCHED = 12
"""The last posts of x-posts-1 that x-posts-2 holds again (an overlapping export)."""
_EUROPE = ("@det.social", "@chaos.social", "@piaille.fr")
_CEST_ENDS = int(datetime(2026, 10, 25, 1, tzinfo=UTC).timestamp())


def _sample_frames(seed: int) -> dict[str, tuple[pl.DataFrame, dict[str, pl.DataType]]]:
    """The sample's files: name -> (rows with the internal columns, output schema)."""
    df = pl.concat(list(generate(SAMPLE_POSTS, seed, internal=True, plant_trends=True)))
    df = df.sort("_ts", "platform", "id")
    dt = pl.from_epoch(pl.col("_ts"), time_unit="s")
    millis = "." + pl.col("_ms").cast(pl.String()).str.zfill(3)

    x = df.filter(pl.col("platform") == "x")
    cut = x.height * 3 // 5
    part1, part2 = x.head(cut), x.slice(cut)
    refetched = part1.tail(SAMPLE_REFETCHED).with_columns(
        likes=pl.col("likes") + 1 + pl.col("likes") // 4,
        reposts=pl.col("reposts") + pl.col("reposts") // 10,
        replies=pl.col("replies") + 1,
    )
    part2 = pl.concat([refetched, part2])

    # Mastodon: milliseconds and Z, except European instances, which give local time.
    europe = pl.any_horizontal([pl.col("author").str.ends_with(i) for i in _EUROPE])
    cest = pl.col("_ts") < _CEST_ENDS
    local = (
        pl.when(cest)
        .then(pl.from_epoch(pl.col("_ts") + 7200, time_unit="s"))
        .otherwise(pl.from_epoch(pl.col("_ts") + 3600, time_unit="s"))
        .dt.to_string("%Y-%m-%dT%H:%M:%S")
    )
    mastodon = df.filter(pl.col("platform") == "mastodon").with_columns(
        created_at=pl.when(europe)
        .then(local + millis + pl.when(cest).then(pl.lit("+02:00")).otherwise(pl.lit("+01:00")))
        .otherwise(dt.dt.to_string("%Y-%m-%dT%H:%M:%S") + millis + "Z")
    )
    bluesky = df.filter(pl.col("platform") == "bluesky").with_columns(
        created_at=dt.dt.to_string("%Y-%m-%dT%H:%M:%S") + millis + "Z"
    )
    reddit = df.filter(pl.col("platform") == "reddit").with_columns(
        created_at=pl.col("_ts").cast(pl.String())
    )
    epoch_schema = {**_CANONICAL_SCHEMA, "created_at": pl.Int64()}
    # The exact instant of each row, in ms, as the file states it (for the README's truths).
    exact = (pl.col("_ts") * 1000 + pl.col("_ms")).alias("_tms")
    whole = (pl.col("_ts") * 1000).alias("_tms")
    part1, part2, reddit = (f.with_columns(whole) for f in (part1, part2, reddit))
    mastodon, bluesky = (f.with_columns(exact) for f in (mastodon, bluesky))
    return {
        "bluesky-posts.csv": (bluesky, _CANONICAL_SCHEMA),
        "mastodon-posts.ndjson.gz": (mastodon, _CANONICAL_SCHEMA),
        "reddit-posts.parquet": (reddit, epoch_schema),
        "x-posts-1.ndjson": (part1, _CANONICAL_SCHEMA),
        "x-posts-2.ndjson.zst": (part2, _CANONICAL_SCHEMA),
    }


def _iso_ms(ms: int) -> str:
    """RFC 3339 UTC, with milliseconds only where they are not zero."""
    dt = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{dt}.{ms % 1000:03d}Z" if ms % 1000 else f"{dt}Z"


def _read_back(path: Path) -> pl.DataFrame:
    """A sample file as polars reads it (checks that each one is readable)."""
    fmt, compression = format_of(path)
    data = path.read_bytes()
    if compression == "gzip":
        data = gzip.decompress(data)
    elif compression == "zstd":
        data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    if fmt == "ndjson":
        return pl.read_ndjson(io.BytesIO(data))
    if fmt == "csv":
        return pl.read_csv(io.BytesIO(data), infer_schema=False)
    return pl.read_parquet(io.BytesIO(data))


def _tag_table(posts: pl.DataFrame) -> pl.DataFrame:
    """Per tag key over unique posts: posts, authors, display (most frequent spelling)."""
    written = posts.select("platform", "author", "id", "_tms", pl.col("_tags").alias("w")).explode(
        "w"
    )
    written = written.drop_nulls("w")
    keys = {w: tag_key(w) for w in written["w"].unique().to_list()}
    written = written.with_columns(key=pl.col("w").replace_strict(keys, return_dtype=pl.String()))
    per_post = written.unique(["platform", "id", "key"], keep="first", maintain_order=True)
    display = (
        per_post.group_by("key", "w")
        .len()
        .sort(["key", "len", "w"], descending=[False, True, False])
        .group_by("key", maintain_order=True)
        .agg(
            display=pl.col("w").first(),
            display_tie=pl.col("len").get(0) == pl.col("len").get(1, null_on_oob=True),
        )
        .with_columns(pl.col("display_tie").fill_null(False))
    )
    return (
        per_post.group_by("key")
        .agg(
            posts=pl.len(),
            authors=pl.struct("platform", "author").n_unique(),
            first_seen=pl.col("_tms").min(),
        )
        .join(display, on="key")
        .sort(["posts", "key"], descending=[True, False])
    )


_SHOWCASE = (
    "Python", "Straße", "Fußball", "Ateş", "İstanbul", "café", "برنامه‌نویسی", "東京", "트위터",
    "北京", "السعودية", "ישראל", "भारत", "Москва", "Ελλάδα",
)  # fmt: skip


def _showcase(posts: pl.DataFrame, tags: pl.DataFrame) -> list[dict[str, Any]]:
    """Tags that exercise key normalisation: posts, display and every spelling seen."""
    spellings = posts.select(pl.col("_tags").list.unique()).explode("_tags").drop_nulls()
    counts = dict(spellings["_tags"].value_counts().iter_rows())
    out = []
    for tag in _SHOWCASE:
        key = tag_key(tag)
        row = tags.filter(pl.col("key") == key)
        if row.height == 0 or row["display_tie"][0]:
            continue
        seen = sorted(
            ((w, n) for w, n in counts.items() if tag_key(w) == key), key=lambda x: (-x[1], x[0])
        )
        out.append(
            {
                "key": key,
                "display": row["display"][0],
                "posts": int(row["posts"][0]),
                "spellings": dict(seen),
            }
        )
    return out


def build_sample(out_dir: Path, seed: int = 0) -> dict[str, Any]:
    """Write the bundled sample into ``out_dir`` and its README into ``out_dir/../README.md``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = _sample_frames(seed)
    written: dict[str, int] = {}
    for name, (frame, schema) in files.items():
        path = out_dir / name
        write_frames(iter([frame]), path, schema=schema)
        back = _read_back(path)
        if back.height != frame.height:
            raise AssertionError(f"{path}: polars reads {back.height} rows, wrote {frame.height}")
        written[name] = frame.height
    rows = pl.concat([f for f, _ in files.values()])
    unique = rows.unique(["platform", "id"], keep="last").sort("_ts", "platform", "id")
    end_s = int(parse_end(DEFAULT_END).timestamp())
    tags = _tag_table(unique)
    last_day = _tag_table(unique.filter(pl.col("_ts") >= end_s - 86_400))

    def tag_truth(tag: str) -> dict[str, Any]:
        row = tags.filter(pl.col("key") == tag_key(tag)).row(0, named=True)
        day = last_day.filter(pl.col("key") == tag_key(tag))
        daily = (
            unique.filter(
                pl.col("_tags")
                .list.eval(pl.element().str.to_lowercase())
                .list.contains(tag.lower())
            )
            .group_by(pl.col("_ts") // 86_400)
            .len()["len"]
        )
        return {
            "tag": tag_key(tag),
            "display": row["display"],
            "posts": row["posts"],
            "authors": row["authors"],
            "posts_last_24h": int(day["posts"][0]) if day.height else 0,
            "authors_last_24h": int(day["authors"][0]) if day.height else 0,
            "first_seen": _iso_ms(row["first_seen"]),
            "days_used": daily.len(),
            "min_per_day": int(daily.min() or 0),  # type: ignore[arg-type]
            "max_per_day": int(daily.max() or 0),  # type: ignore[arg-type]
        }

    truths: dict[str, Any] = {
        "seed": seed,
        "files": written,
        "rows": rows.height,
        "unique_posts": unique.height,
        "duplicates": rows.height - unique.height,
        "rejected": 0,
        "distinct_tags": tags.height,
        "distinct_authors": unique.select(pl.struct("platform", "author").n_unique()).item(),
        "with_own_hashtags": int(unique["hashtags"].is_not_null().sum()),
        "from": _iso_ms(unique["_tms"].min()),  # type: ignore[arg-type]
        "to": _iso_ms(unique["_tms"].max()),  # type: ignore[arg-type]
        "platforms": dict(unique["platform"].value_counts(sort=True).iter_rows()),
        "langs": dict(unique["lang"].value_counts(sort=True).iter_rows()),
        "burst": tag_truth(BURST_TAG),
        "burst_co_tag": tag_truth(BURST_CO_TAG),
        "spam": {**tag_truth(SPAM_TAG), "author": SPAM_AUTHOR, "platform": "x"},
        "steady": tag_truth(STEADY_TAG),
        "top_tags": tags.head(12).select("key", "display", "posts", "authors").rows(named=True),
        "showcase": _showcase(unique, tags),
    }
    readme = out_dir.parent / "README.md"
    readme.write_text(_sample_readme(out_dir, truths), encoding="utf-8")
    return truths


def _sample_readme(out_dir: Path, t: dict[str, Any]) -> str:
    rel = out_dir.name
    files = "\n".join(
        f"| `{rel}/{name}` | {rows:,} | {_SAMPLE_FILE_NOTES[name]} |"
        for name, rows in t["files"].items()
    )
    top = "\n".join(
        f"| `{r['key']}` | `{r['display']}` | {r['posts']} | {r['authors']} |"
        for r in t["top_tags"]
    )
    showcase = "\n".join(
        f"| `{r['key']}` | `{r['display']}` | {r['posts']} | "
        + ", ".join(f"`{w}` {n}" for w, n in r["spellings"].items())
        + " |"
        for r in t["showcase"]
    )
    platforms = ", ".join(f"{k} {v:,}" for k, v in t["platforms"].items())
    langs = ", ".join(f"{k} {v:,}" for k, v in t["langs"].items())
    planted = "\n".join(
        "| `{tag}` | `{display}` | {posts} | {authors} | {posts_last_24h} | {authors_last_24h} "
        "| {first_seen} | {note} |".format(**t[kind], note=note.format(**t[kind]))
        for kind, note in _PLANTED_NOTES.items()
    )
    return _README_TEMPLATE.format(
        rel=rel,
        seed=t["seed"],
        posts=SAMPLE_POSTS,
        files=files,
        rows=t["rows"],
        unique=t["unique_posts"],
        dups=t["duplicates"],
        refetched=SAMPLE_REFETCHED,
        tags=t["distinct_tags"],
        authors=t["distinct_authors"],
        own=t["with_own_hashtags"],
        first=t["from"],
        last=t["to"],
        platforms=platforms,
        langs=langs,
        top=top,
        showcase=showcase,
        planted=planted,
    )


_PLANTED_NOTES = {
    "burst": "**the burst**: absent before the last day, then hundreds of posts by hundreds "
    "of distinct accounts, rising through the day; must rank first in `/v1/trending` "
    "(24h window)",
    "burst_co_tag": "on part of the burst's posts only: also new, should trend right after "
    "it; the burst's top related tag",
    "spam": "**spam**: one account, `{author}` on {platform}, all on the last day; the most "
    "posts of the day, by one author: must not trend",
    "steady": "**steady**: heavily used every day ({min_per_day}-{max_per_day} posts a day "
    "on all {days_used} days): must not trend",
}


_SAMPLE_FILE_NOTES = {
    "bluesky-posts.csv": "CSV; `created_at` with milliseconds (`...T14:05:09.123Z`); "
    "`hashtags` as space-separated tags, empty where the row carries no list",
    "mastodon-posts.ndjson.gz": "gzip NDJSON; milliseconds and `Z`, except posts from "
    "European instances, which carry local time with an offset (`+02:00` until "
    "2026-10-25, then `+01:00`)",
    "reddit-posts.parquet": "Parquet; `created_at` as epoch seconds (Int64); never a "
    "`hashtags` list (tags come from the text)",
    "x-posts-1.ndjson": "NDJSON, the first 60% of the X posts by time; `created_at` like "
    "`2026-10-03T14:05:09Z`",
    "x-posts-2.ndjson.zst": "zstd NDJSON, the rest of the X posts, starting with the last "
    "posts of `x-posts-1.ndjson` again (an overlapping export, higher counts)",
}

_README_TEMPLATE = """\
# Bundled sample data

`{rel}/` is a small, synthetic but realistic dump of social-media posts in the
canonical input format. `hashtag-index serve` builds its first index from it
when the index is empty, and tests may rely on the figures below. Everything
here, this README included, is written by `bench/gen.py`; do not edit by hand.

Regenerate (byte-identical) with:

```
uv run python bench/gen.py --sample data/{rel} --seed {seed}
```

## Files

| file | rows | format |
| --- | ---: | --- |
{files}

No row is malformed: a build of this folder rejects nothing.

## Fields (canonical format)

| field | type | notes |
| --- | --- | --- |
| `id` | string | platform-style: X snowflake, Bluesky TID, Mastodon id, Reddit base36 |
| `created_at` | RFC 3339 or epoch seconds | see the formats per file above |
| `platform` | string | `x`, `bluesky`, `mastodon`, `reddit` |
| `author` | string | handle; Mastodon `name@instance`, Bluesky `name.bsky.social` |
| `text` | string | the post; its `#tags` follow the twitter-text rules |
| `lang` | string | `en`, `es`, `ja`, `pt`, `de`, `fr`, `ko`, `tr`, `ar`, `ru`, `hi`, `fa`, \
`zh`, `uk`, `he`, `el` |
| `likes`, `reposts`, `replies`, `quotes` | int >= 0 | heavy-tailed |
| `hashtags` | list of strings, optional | the post's own tag list, as written, without \
`#`; present on {own:,} posts, always equal to the tags in `text` |

Texts also hold things that are *not* tags and must not be counted:
`#` inside URLs (`https://example.com/a#frag`, `https://example.com/#pricing`),
`#1`, `C#`/`F#`. Tags appear at the start, in the middle and at the end of
texts, followed by `,` `:` `.` `!` `?` or a newline; some CJK posts use the
full-width sign `＃`. Tags come in case variants of one tag key (about 60% as
the display form, 30% lower case, 10% upper case: `Python`/`python`/`PYTHON`;
`Straße`/`straße`/`STRASSE` share the key `strasse`), in many scripts (Japanese,
Korean, Chinese, Arabic, Persian with ZWNJ such as `برنامه‌نویسی`, Hebrew,
Hindi, Cyrillic, Greek, Turkish `Ateş`, accented `café`). A post may repeat a
tag (in another spelling): it counts once.

## Planted truths

- Rows: **{rows:,}**; unique posts by `(platform, id)`: **{unique:,}**;
  duplicates: **{dups}** (the last {refetched} posts of `x-posts-1.ndjson` again
  in `x-posts-2.ndjson.zst`, with higher likes; files are read in path order, so
  the later copy, in `x-posts-2`, wins); rejected: **0**.
- Distinct tag keys: **{tags:,}**; distinct `(platform, author)`: **{authors:,}**.
- Time span: {first} .. {last} (28 days ending 2026-11-01T00:00:00Z, a daily cycle).
- Posts per platform: {platforms}.
- Posts per language: {langs}.

Planted trends. "Last day" is [2026-10-31T00:00:00Z, 2026-11-01T00:00:00Z), i.e. a 24h
window with `as_of=2026-11-01T00:00:00Z`:

| tag key | display | posts | authors | posts last day | authors last day | first seen | \
what it is |
| --- | --- | ---: | ---: | ---: | ---: | --- | --- |
{planted}

Most used tags (posts counted once per tag key):

| tag key | display | posts | authors |
| --- | --- | ---: | ---: |
{top}

Tags that exercise the tag key (NFKC + case folding) and the display form;
"spellings" count the posts that write the tag that way (a post may use two):

| tag key | display | posts | spellings |
| --- | --- | ---: | --- |
{showcase}
"""


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows defaults, except for options without one; keeps the epilog's layout."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


_EPILOG = f"""\
summary (stderr, one JSON line):
  rows              lines/rows written (= --posts)
  posts             well-formed rows (rows - bad_rows)
  unique_posts      distinct (platform, id) among them: what an index holds
  duplicates        well-formed rows repeating an earlier (platform, id)
  bad_rows/defects  malformed rows, per kind: what a build must reject
  distinct_tags     distinct tag keys (NFKC + casefold) over well-formed rows
  distinct_authors  distinct (platform, author) over well-formed rows
  planted           per planted trend: tag, posts, distinct authors

examples:
  gen.py --posts 1000000 --out /tmp/posts.ndjson
  gen.py --posts 200000 --dup-rate 0.05 --bad-rate 0.01 --timestamps mixed \\
         --plant-trends --out /tmp/posts.csv.zst
  gen.py --sample data/sample        # rewrite the bundled sample and data/README.md

At most {MAX_ROWS:,} rows (ids stay unique up to there). From Python:
generate(), iter_posts(), write_posts() in bench/gen.py.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gen.py",
        description=(
            "Write deterministic synthetic posts in the canonical input format "
            "(id, created_at, platform, author, text, lang, likes, reposts, replies, "
            "quotes, optional hashtags). Same arguments, byte-identical output. "
            "Prints a one-line JSON summary of what it planted on stderr."
        ),
        epilog=_EPILOG,
        formatter_class=_HelpFormatter,
    )
    p.add_argument(
        "--posts",
        type=int,
        default=1000,
        help="rows to write, duplicates and malformed rows included",
    )
    p.add_argument(
        "--out",
        default="-",
        help="output file; the extension picks the format (.ndjson/.jsonl/.json, .csv, "
        ".parquet) and an extra .gz or .zst compresses; '-' writes NDJSON to stdout",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random seed (0..2**32-1); same seed, same output"
    )
    p.add_argument("--days", type=int, default=DEFAULT_DAYS, help="time span of the posts, in days")
    p.add_argument(
        "--end",
        default=DEFAULT_END,
        help="end of the time span (exclusive), RFC 3339 with a zone, or a date (midnight UTC)",
    )
    p.add_argument(
        "--dup-rate",
        type=float,
        default=0.0,
        help="fraction of rows that repeat an earlier (platform, id) (same text and time, "
        "higher likes/reposts/replies), placed after the original within its batch",
    )
    p.add_argument(
        "--bad-rate",
        type=float,
        default=0.0,
        help="fraction of malformed rows. NDJSON: broken JSON, missing author, timestamp "
        "without zone, likes as a non-numeric string; CSV: missing author, no zone, "
        "non-numeric likes, unparseable timestamp; Parquet: missing author, no zone, "
        "unparseable timestamp",
    )
    p.add_argument(
        "--plant-trends",
        action="store_true",
        help=f"plant trends: #{BURST_TAG} (with #{BURST_CO_TAG} on ~45%% of its posts) "
        "appears only in the last 24h before --end, rising through the day, by hundreds of "
        "distinct accounts (250 posts, or posts/1000 if more); "
        f"@{SPAM_AUTHOR} posts #{SPAM_TAG} 600 times in that day; "
        f"#{STEADY_TAG} is on 5%% of all posts, the same number every day "
        "(fewer planted posts below 5,000 posts)",
    )
    p.add_argument(
        "--timestamps",
        choices=TIMESTAMP_STYLES,
        default="utc",
        help="'utc': 2026-10-03T14:05:09Z everywhere; 'mixed': 70%% like that, 10%% with "
        "milliseconds, 10%% with a +02:00-style offset, 10%% epoch seconds (ints in NDJSON)",
    )
    p.add_argument(
        "--vocab",
        type=int,
        default=None,
        help="tag vocabulary size (default: posts/20, at least 300, at most 50,000); "
        "popularity is Zipf-like",
    )
    p.add_argument(
        "--authors",
        type=int,
        default=None,
        help="accounts per platform to draw from, Zipf-like (default: 0.105 x posts, at "
        "least 200; about posts/5 distinct authors end up posting)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH,
        help="rows generated and written at a time: memory use (~450 MB at 100,000); "
        "the output depends on it",
    )
    p.add_argument(
        "--level",
        type=int,
        default=None,
        help="compression level for .gz (default 6) or .zst (default 3)",
    )
    p.add_argument(
        "--sample",
        metavar="DIR",
        default=None,
        help="write the bundled sample into DIR (and its README beside DIR) instead; "
        "uses --seed only",
    )
    p.add_argument("--quiet", action="store_true", help="print no summary")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    try:
        if args.sample is not None:
            summary_dict: dict[str, Any] = build_sample(Path(args.sample), seed=args.seed)
        else:
            summary = write_posts(
                args.out,
                args.posts,
                args.seed,
                level=args.level,
                days=args.days,
                end=parse_end(args.end),
                dup_rate=args.dup_rate,
                bad_rate=args.bad_rate,
                plant_trends=args.plant_trends,
                timestamps=args.timestamps,
                vocab_size=args.vocab,
                authors=args.authors,
                batch_size=args.batch_size,
            )
            summary_dict = asdict(summary)
    except BrokenPipeError:  # e.g. `gen.py ... | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, OSError) as e:
        print(f"gen.py: {e}", file=sys.stderr)
        return 2
    if not args.quiet:
        summary_dict["seconds"] = round(time.perf_counter() - started, 3)
        print(json.dumps(summary_dict, ensure_ascii=False), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
