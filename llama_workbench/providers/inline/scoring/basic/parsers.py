"""Answer parsers of inline::basic: multiple-choice letters and the final answer of a math response."""

from __future__ import annotations

import re
from fractions import Fraction

# "Answer:" in the languages of multilingual MMLU, as Llama Stack (and simple-evals) spell it.
ANSWER_LABELS = (
    r"The best answer is ",
    r"Answer\s*:",
    "Answer\\s*:\u200b\u200b\u200b\u200b\u200b\u200b",  # Korean data has invisible spaces
    r"উত্তর\s*:",
    r"उत्तर\s*:",
    r"উত্তরঃ",
    r"Antwort\s*:",
    r"답변\s*:",
    r"정답\s*:",
    r"답\s*:",
    r"答案\s*\uff1a",
    r"答案\s*:",
    r"答\s*\uff1a",
    r"答\s*:",
    r"答复\s*\uff1a",
    r"答曰\s*\uff1a",
    r"الإجابة:",
    r"الجواب:",
    r"إجابة:",
    r"الإجابة النهائية:",
    r"الإجابة الصحيحة:",
    r"الإجابة الصحيحة هي:",
    r"الإجابة هي:",
    r"Respuesta\s*:",
    r"Risposta\s*:",
    r"答え\s*:",
    r"答え\s*\uff1a",
    r"回答\s*:",
    r"回答\s*\uff1a",
    r"解答\s*:",
    r"Jawaban\s*:",
    r"Réponse\s*:",
    r"Resposta\s*:",
    r"Jibu\s*:",
    r"Idahun\s*:",
    r"Ìdáhùn\s*:",
    r"Idáhùn\s*:",
    r"Àmọ̀nà\s*:",
    r"Àdáhùn\s*:",
    r"Ànúgọ\s*:",
    r"Àṣàyàn\s*:",
)
# The letter after the label: Latin, Arabic, Bengali or full-width.
LETTER_PATTERN = r"(?i){}\s*([A-D]|[أ-د]|[অ]|[ব]|[ড]|[ঢ]|[\uff21]|[\uff22]|[\uff23]|[\uff24])"
MULTIPLE_CHOICE_REGEXES = [LETTER_PATTERN.format(label) for label in ANSWER_LABELS]

# Where a math response states its final answer; a \boxed{} anywhere is the fallback.
MATH_ANSWER_REGEXES = [
    r"(?i)final answer is:?\s*(.+)",
    r"(?i)the answer is:?\s*(.+)",
    r"####\s*(.+)",
]

_LETTERS = str.maketrans(
    {"أ": "A", "ب": "B", "ج": "C", "د": "D", "অ": "A", "ব": "B", "ড": "C", "ঢ": "D"}
    | {chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}
)


def choice_letter(text: str) -> str:
    """Letters compare alike whatever their script or case: "ب", a full-width B and "b" are "B"."""
    return text.strip().translate(_LETTERS).upper()


def boxed(text: str) -> str | None:
    """The content of the last \\boxed{...} (or \\fbox{...}), braces balanced."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    opening = text.find("{", start)
    if opening < 0:
        return None
    depth = 0
    for i in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[opening + 1 : i]
    return None


_TEX_NOISE = (
    ("\\left", ""),
    ("\\right", ""),
    ("\\!", ""),
    ("\\,", ""),
    ("\\;", ""),
    ("\\ ", ""),
    ("\\dfrac", "\\frac"),
    ("\\tfrac", "\\frac"),
    ("^{\\circ}", ""),
    ("^\\circ", ""),
    ("\\%", ""),
    ("%", ""),
    ("\\$", ""),
    ("$", ""),
)


def math_answer(text: str) -> str:
    """A final answer in one canonical form: numbers as exact fractions ("1,000", "1000.0"
    and "\\frac{2000}{2}" are all "1000"; "0.5" is "1/2"), other answers without TeX noise."""
    answer = text.strip()
    inner = boxed(answer)
    if inner is not None:
        answer = inner
    else:
        math_span = re.search(r"\$([^$]+)\$", answer)
        if math_span:
            answer = math_span.group(1)
    answer = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", answer)
    for noise, replacement in _TEX_NOISE:
        answer = answer.replace(noise, replacement)
    answer = answer.strip().rstrip(".").strip()
    assignment = re.match(r"^[A-Za-z]\w*\s*=\s*(.+)$", answer)
    if assignment:
        answer = assignment.group(1)
    leading = re.match(r"^(-?\d[\d,]*(?:\.\d+)?)\s+[A-Za-z]", answer)
    if leading:  # "42 apples", "12 because ..."
        answer = leading.group(1)
    number = to_number(answer)
    return str(number) if number is not None else re.sub(r"\s+", "", answer)


def to_number(text: str) -> Fraction | None:
    """An exact value for integers, decimals, thousands separators, a/b and \\frac{a}{b}."""
    s = text.replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    try:
        if re.fullmatch(r"-?(\d+\.?\d*|\.\d+)", s):
            return Fraction(s)
        frac = re.fullmatch(r"(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}", s) or re.fullmatch(
            r"(-?)\\frac(\d)(\d)", s
        )
        if frac:
            value = Fraction(int(frac.group(2)), int(frac.group(3)))
            return -value if frac.group(1) else value
        slash = re.fullmatch(r"(-?\d+)/(-?\d+)", s)
        if slash:
            return Fraction(int(slash.group(1)), int(slash.group(2)))
    except ZeroDivisionError:
        return None
    return None
