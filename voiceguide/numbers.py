"""Whole numbers as words, 0 to 999, the way each language counts aloud ('eins', 'één')."""

from __future__ import annotations

from collections.abc import Callable

_EN = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def english(n: int) -> str:
    if n < 20:
        return _EN[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _EN_TENS[tens - 2] + (f"-{_EN[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_EN[hundreds]} hundred" + (f" and {english(rest)}" if rest else "")


_DE = [
    "null",
    "eins",
    "zwei",
    "drei",
    "vier",
    "fünf",
    "sechs",
    "sieben",
    "acht",
    "neun",
    "zehn",
    "elf",
    "zwölf",
    "dreizehn",
    "vierzehn",
    "fünfzehn",
    "sechzehn",
    "siebzehn",
    "achtzehn",
    "neunzehn",
]
_DE_TENS = ["zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig"]


def german(n: int) -> str:
    if n < 20:
        return _DE[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        unit = "ein" if ones == 1 else _DE[ones]  # einundzwanzig
        return (f"{unit}und" if ones else "") + _DE_TENS[tens - 2]
    hundreds, rest = divmod(n, 100)
    head = "hundert" if hundreds == 1 else f"{_DE[hundreds]}hundert"
    return head + (german(rest) if rest else "")


_FR = [
    "zéro",
    "un",
    "deux",
    "trois",
    "quatre",
    "cinq",
    "six",
    "sept",
    "huit",
    "neuf",
    "dix",
    "onze",
    "douze",
    "treize",
    "quatorze",
    "quinze",
    "seize",
    "dix-sept",
    "dix-huit",
    "dix-neuf",
]
_FR_TENS = ["vingt", "trente", "quarante", "cinquante", "soixante"]


def french(n: int) -> str:
    if n < 20:
        return _FR[n]
    if n < 70:
        tens, ones = divmod(n, 10)
        word = _FR_TENS[tens - 2]
        return word if not ones else f"{word} et un" if ones == 1 else f"{word}-{_FR[ones]}"
    if n < 80:  # soixante-dix, soixante et onze
        return "soixante et onze" if n == 71 else f"soixante-{_FR[n - 60]}"
    if n < 100:
        return "quatre-vingts" if n == 80 else f"quatre-vingt-{_FR[n - 80]}"
    hundreds, rest = divmod(n, 100)
    head = "cent" if hundreds == 1 else f"{_FR[hundreds]} cent" + ("" if rest else "s")
    return head + (f" {french(rest)}" if rest else "")


_ES = [
    "cero",
    "uno",
    "dos",
    "tres",
    "cuatro",
    "cinco",
    "seis",
    "siete",
    "ocho",
    "nueve",
    "diez",
    "once",
    "doce",
    "trece",
    "catorce",
    "quince",
    "dieciséis",
    "diecisiete",
    "dieciocho",
    "diecinueve",
    "veinte",
    "veintiuno",
    "veintidós",
    "veintitrés",
    "veinticuatro",
    "veinticinco",
    "veintiséis",
    "veintisiete",
    "veintiocho",
    "veintinueve",
]
_ES_TENS = ["treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa"]
_ES_HUNDREDS = [
    "ciento",
    "doscientos",
    "trescientos",
    "cuatrocientos",
    "quinientos",
    "seiscientos",
    "setecientos",
    "ochocientos",
    "novecientos",
]


def spanish(n: int) -> str:
    if n < 30:
        return _ES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _ES_TENS[tens - 3] + (f" y {_ES[ones]}" if ones else "")
    if n == 100:
        return "cien"
    hundreds, rest = divmod(n, 100)
    return _ES_HUNDREDS[hundreds - 1] + (f" {spanish(rest)}" if rest else "")


_IT = [
    "zero",
    "uno",
    "due",
    "tre",
    "quattro",
    "cinque",
    "sei",
    "sette",
    "otto",
    "nove",
    "dieci",
    "undici",
    "dodici",
    "tredici",
    "quattordici",
    "quindici",
    "sedici",
    "diciassette",
    "diciotto",
    "diciannove",
]
_IT_TENS = [
    "venti",
    "trenta",
    "quaranta",
    "cinquanta",
    "sessanta",
    "settanta",
    "ottanta",
    "novanta",
]


def italian(n: int) -> str:
    if n < 20:
        return _IT[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        word = _IT_TENS[tens - 2]
        if ones in (1, 8):  # ventuno, ventotto: the vowels meet and one goes
            return word[:-1] + _IT[ones]
        return word + ("tré" if ones == 3 else _IT[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    head = "cento" if hundreds == 1 else f"{_IT[hundreds]}cento"
    tail = italian(rest) if rest else ""
    if tail.startswith("ott"):  # centottanta, centotto
        head = head[:-1]
    return head + tail


_NL = [
    "nul",
    "één",
    "twee",
    "drie",
    "vier",
    "vijf",
    "zes",
    "zeven",
    "acht",
    "negen",
    "tien",
    "elf",
    "twaalf",
    "dertien",
    "veertien",
    "vijftien",
    "zestien",
    "zeventien",
    "achttien",
    "negentien",
]
_NL_TENS = ["twintig", "dertig", "veertig", "vijftig", "zestig", "zeventig", "tachtig", "negentig"]


def dutch(n: int) -> str:
    if n < 20:
        return _NL[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        if not ones:
            return _NL_TENS[tens - 2]
        unit = "een" if ones == 1 else _NL[ones]
        joint = "ën" if unit.endswith("e") else "en"  # tweeëntwintig, eenentwintig
        return unit + joint + _NL_TENS[tens - 2]
    hundreds, rest = divmod(n, 100)
    head = "honderd" if hundreds == 1 else f"{_NL[hundreds]}honderd"
    return head + (("een" if rest == 1 else dutch(rest)) if rest else "")


COUNTING: dict[str, Callable[[int], str]] = {
    "en": english,
    "de": german,
    "fr": french,
    "es": spanish,
    "it": italian,
    "nl": dutch,
}


def counting(n: int, language: str, feminine: bool = False) -> str:
    """`n` in words as said before a plural noun of that gender: French 'vingt et une
    secondes', Spanish 'veintiún segundos', Italian 'ventun secondi', German 'hunderteine
    Sekunden'. Other numbers, and other languages, as `in_words` says them."""
    word = in_words(n, language)
    if n % 10 != 1 or n % 100 == 11 or n == 1:
        return word  # one itself is a catalog phrase of its own (une seconde, un segundo)
    if language == "fr" and feminine and word.endswith("un"):
        return word + "e"
    if language == "es":
        stem = word.removesuffix("uno")
        return stem + ("una" if feminine else "ún" if stem.endswith("veinti") else "un")
    if language == "it" and word.endswith("tuno"):  # ventuno, not centouno
        return word[:-3] + ("una" if feminine else "un")
    if language == "de" and word.endswith("eins"):
        return word[:-1] + ("e" if feminine else "")
    return word


def in_words(n: int, language: str = "en") -> str:
    """`n` (0..999) as `language` counts it aloud."""
    if not 0 <= n <= 999:
        raise ValueError(f"{n} is outside 0..999")
    return COUNTING[language](n)
