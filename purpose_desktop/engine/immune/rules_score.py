"""Score-manipulation rules: steering the critic/judge, skipping verification, claiming passes, gaming tests."""

from __future__ import annotations

import re

from .detectors import SCORE, Rule, clause_after, clause_before, family, rx, window

_GRADER = r"(?:critic|judge|grader|evaluator|scorer|scoring\s+model|reward\s+model|purpose\s+function|llm[\s-]+judge|llm[\s-]+as[\s-]+a[\s-]+judge|verifier|examiner|rater|assessor|marker)"
_EVAL_OBJ = r"(?:answer|response|solution|output|submission|code|step|result|results|run|attempt|task|trace|completion|patch|work|implementation|pr|change|build|tests?|checks?|suite|job|failures?|assertions?|exercise|problem|challenge|assignment)"
_HIGH = r"(?:10|ten|9|9\.\d|10\.0|100|1\.0|full|perfect|maximum|max|highest|top|five|5|a\+|excellent|high)"
_UNIT = r"(?!\s*(?:seconds?|secs?|s\b|ms\b|minutes?|mins?|hours?|%|px|mb|gb|kb|x\b|times|retries|attempts|lines|workers|threads|items|chars|characters|bytes|percent|second|minute|hour|day|days|-?second|-?minute))"
_CLAIM = re.compile(
    r"\b(?:correct|right|works|working|passed|passes|verified|validated|trust|already|perfect|fine|valid|approved|green|flawless)\b"
)
_QUALIFIER = re.compile(
    r"\b(?:if|when|unless|only|locally|again|twice|slow|flaky|marker|-m|-k|windows|macos|linux|gpu|network|offline|"
    r"integration|platform|docs|documentation|just\s+because|in\s+parallel|against|production|for\s+now\s+while|until)\b|--"
)
_ESCALATE = re.compile(
    r"\b(?:even\s+(?:if|though|when)|regardless|no\s+matter|anyway|whatever|despite|though)\b"
)
_SCORE_WORDS = re.compile(
    r"\b(?:score|scores|scoring|rate|rating|grade|grading|verdict|pass|passed|passing|approve|approved|give|award|"
    r"full\s+marks|credit|points|perfect|correct|success|successful|10)\b"
)


def _skip_ok(m: re.Match[str], text: str) -> bool:
    """Skipping/not-running verification counts unless it is ordinary, qualified test advice."""
    after = clause_after(text, m.end(), 100)
    before = clause_before(text, m.start(), 60)
    if _CLAIM.search(after) or _ESCALATE.search(after):
        return True
    if _QUALIFIER.search(after) or _QUALIFIER.search(before):
        return False
    return not re.match(
        r"\s*(?:\w+\s+){0,2}?(?:with|using|via|on|in|for|from|by|that|which|where|of)\b", after
    )


def _directive_follows(m: re.Match[str], text: str) -> bool:
    tail = window(text, m.start(), m.end(), 0, 140)[len(m.group(0)) :]
    return (
        re.search(
            r"\b(?:do\s+not|don'?t|no\s+need|skip|without|give|rate|score|mark|just|trust|approve|full\s+marks|"
            r"10|deserves?|accept|pass\b|no\s+further)\b",
            tail,
        )
        is not None
    )


def _status_ok(m: re.Match[str], text: str) -> bool:
    after = clause_after(text, m.end(), 100)
    before = clause_before(text, m.start(), 40)
    if _ESCALATE.search(after) or _ESCALATE.search(before):
        return True
    return not re.search(
        r"\b(?:only\s+(?:if|when|after|once)|if\s+and\s+only|once\s+(?:all|the)|after\s+(?:all|the)|when\s+all|if\s+all|unless)\b",
        after + " " + before,
    )


def _grader_directive_ok(m: re.Match[str], text: str) -> bool:
    """A directive to the grader counts when it fixes the verdict, not when it describes the rubric."""
    found = m.group(0).lower()
    tail = clause_after(text, m.end(), 90)
    tail = re.sub(r"\b(?:between|from)\s+\d+(?:\.\d+)?\s+(?:and|to)\s+\d+(?:\.\d+)?", " ", tail)
    if re.search(r"\b(?:not|never)\s+(?:look|check|read|run|examine|inspect|verify|execute|test)\b", found):
        return True
    if re.search(
        r"\b(?:ignore|overlook|skip|disregard)\b|\b(?:not|never)\s+(?:penali[sz]e|deduct|fail)\b", found
    ):
        return (
            re.search(r"\b(?:fail\w*|errors?|tests?|rubric|criteria|bugs?|problems?|issues?)\b", tail)
            is not None
        )
    if found.lstrip().startswith(("reviewer", "the reviewer", "all reviewer", "any reviewer")):
        return (
            re.search(
                r"\b(?:without\s+(?:running|testing|checking|review)|regardless|no\s+matter|even\s+(?:if|though)|10|"
                r"perfect|full\s+marks|maximum)\b",
                tail,
            )
            is not None
        )
    if _ESCALATE.search(tail):
        return True
    if re.search(r"\b(?:when|if|only|unless|based\s+on|according\s+to|backed\s+by|partial)\b", tail):
        return False
    return (
        re.search(
            r"\b(?:10|ten|9|perfect|full|maximum|max|highest|high|pass|passing|passed|correct|success|successful|"
            r"approve|verified|(?:any|every)\s+(?:answer|solution|response|submission|output))\b",
            tail,
        )
        is not None
    )


def _address_ok(m: re.Match[str], text: str) -> bool:
    """Speaking to the grader counts when what follows steers the verdict, not when it describes the grader."""
    tail = window(text, m.start(), m.end(), 0, 160)[len(m.group(0)) :]
    return (
        re.search(
            r"\b(?:give|rate\s+(?:it|this)|score\s+(?:it|this)|award|full\s+marks|perfect|10(?!\s*(?:times|seconds|minutes))|"
            r"pass\b(?!\s+rate)|approve|overlook|ignore|correct|verified|validated|highest|maximum|credit|deserves?|already|"
            r"pre-?approved|by\s+definition|output\s+(?:pass|10|a\s+high))",
            tail,
        )
        is not None
    )


def _regardless_ok(m: re.Match[str], text: str) -> bool:
    sentence = clause_before(text, m.start(), 120) + " " + clause_after(text, m.end(), 120)
    return _SCORE_WORDS.search(sentence) is not None


# fmt: off
RULES: tuple[Rule, ...] = (
    Rule(
        "rate_high", SCORE, "asks for a top score for this answer",
        rx(
            r"\b(?:rate|score|grade|mark|give|assign|award|put)\s+(?:this|it|me|us|them|yourself|the\s+" + _EVAL_OBJ + r"|this\s+" + _EVAL_OBJ
            + r"|every\s+" + _EVAL_OBJ + r"|each\s+" + _EVAL_OBJ + r"|any\s+" + _EVAL_OBJ + r"|all\s+" + _EVAL_OBJ + r"s?)(?:\s+from\s+this\s+\w+)?\s+(?:(?:a|an|the|as)\s+)?(?:score\s+of\s+|rating\s+of\s+|grade\s+of\s+)?"
            + _HIGH + r"\b" + _UNIT + r"(?:\s*/\s*10|\s*out\s+of\s+(?:10|ten|100)|\s*stars?|\s+marks|\s+points|\s+score|\s+rating|\s+reward|\s+possible\s+\w+)?"
            r"|\b(?:give|assign|award|output|return|set|bump|override|raise|force|change)\s+(?:(?:it|this|yourself|them)\s+)?(?:(?:a|an|the)\s+)?(?:\w+\s+)?(?:score|rating|grade|reward|verdict)\s+(?:of\s+|to\s+|as\s+)?(?:10|ten|9|100|1\.0|the\s+maximum|max(?:imum)?|pass|perfect)\b"
            + _UNIT + r"(?!\s+(?:only\s+)?(?:if|when|only|unless)\b)"
            r"|\b(?:award|give|grant|assign)\s+(?:it\s+|them\s+|this\s+)?(?:full|maximum|max|perfect|top|all\s+the)\s+(?:points|marks|credit|score)"
            r"|\b(?:output|return|respond\s+with|reply\s+with|emit|print|write)\s+(?:only\s+)?[{\[]?\s*['\"]?(?:score|rating|grade|verdict|reward)['\"]?\s*[:=]\s*['\"]?(?:10|100|pass|1\.0)\b"
            r"|\b(?:output|return|give|assign)\s+(?:a\s+)?(?:high|maximum|max|perfect)\s+(?:reward|score|rating|grade)"
        ),
        needles=("rate", "score", "grade", "mark", "give", "assign", "award", "put", "output", "return", "set", "bump",
                 "override", "raise", "force", "change", "grant", "emit", "print", "write", "respond", "reply"),
        negatable=True,
    ),
    Rule(
        "lenient_grading", SCORE, "asks the grader to be lenient or to count the answer as correct",
        rx(
            r"\b(?:score|rate|grade|mark|judge|evaluate|assess)\s+(?:this|it|them|the\s+\w+|this\s+\w+|every\s+\w+)\s+(?:very\s+)?(?:highly|generously|favou?rably|positively|leniently|as\s+(?:correct|perfect|excellent|passing|a\s+success|successful|passed|a\s+pass|a\s+10|if\s+all))"
            r"|\bbe\s+(?:lenient|generous|kind)\s+(?:when|with|in|while)\s+(?:grading|scoring|rating|evaluating|judging)"
            r"|\b(?:score|rate|grade)\s+(?:\w+\s+){0,3}?(?:highly|high)\s+(?:no\s+matter|regardless)"
            r"|\bif\s+you(?:'re|\s+are)\s+(?:grading|scoring|evaluating|judging|rating|assessing)\s+this\b"
            r"|\b(?:deserves?|merits?|earns?|warrants?|should\s+(?:get|receive|be\s+given|be\s+awarded|be\s+rated|be\s+scored))\s+(?:a\s+|the\s+)?(?:perfect|full|maximum|max|top|highest|10|ten|high|5-star|five-star)\s*(?:score|marks|points|rating|grade|credit|/10|out\s+of\s+10)?"
            r"|\b(?:ignore|disregard|skip|forget|override|bypass)\s+(?:the\s+|your\s+)?(?:grading\s+|scoring\s+|evaluation\s+)?(?:rubric|grading\s+criteria|scoring\s+criteria|evaluation\s+criteria|scoring\s+guidelines)"
            r"|\b(?:rubric|grading\s+criteria|scoring\s+criteria)\s+(?:does\s+not|doesn'?t)\s+apply\b"
            r"|\b(?:correct|right|valid)\s+by\s+definition\b|\bpre-?approved\b"
            r"|\b(?:grade|score|rating|verdict|self-evaluation|self-assessment|self-score)\s*[:=]\s*(?:a\+|10(?:\s*/\s*10)?|100|pass|perfect)(?=\W|$)"
            r"|\b(?:gets?|receives?|earns?|should\s+get)\s+(?:full\s+marks|a\s+perfect\s+score|the\s+maximum(?:\s+score)?|max(?:imum)?\s+(?:score|points)|(?:a\s+)?(?:10|ten)(?=\s*(?:[.,;!]|$|points|/10|out\s+of)))"
        ),
        needles=("score", "rate", "grade", "mark", "judge", "evaluat", "assess", "lenient", "generous", "deserv", "merit",
                 "earn", "warrant", "should", "rubric", "criteria", "definition", "approved", "verdict", "grading",
                 "get", "receiv"),
        negatable=True,
        check=lambda m, text: _status_ok(m, text),
    ),
    Rule(
        "grader_directive", SCORE, "tells the critic/judge what score or verdict to give",
        rx(
            r"\b(?:the\s+|any\s+|all\s+|every\s+)?(?:" + _GRADER + r"|reviewer)s?\s+(?:must|should|shall|will|has\s+to|have\s+to|needs?\s+to|is\s+to|are\s+to|ought\s+to|is\s+(?:instructed|required|expected)\s+to)\s+(?:not\s+|never\s+|always\s+|now\s+)?(?:\w+\s+){0,2}?"
            r"(?:give|rate|score|assign|award|grade|mark|approve|accept|pass|return|output|treat|consider|ignore|skip|overlook|disregard|penali[sz]e|deduct|fail|reward)\b"
            r"|\b(?:the\s+|any\s+)?" + _GRADER + r"s?\s+(?:must|should|shall|will|need|needs|is\s+to|ought\s+to)\s+(?:not|never)\s+(?:look\s+at|check|read|run|examine|inspect|verify|execute|test)\s+(?:the\s+|any\s+)?(?:tests?|test\s+(?:output|results?)|outputs?|code|results?|answer|it|this)\b"
            r"|\b(?:tell|ask|instruct|make|force|get|convince|persuade)\s+the\s+" + _GRADER + r"\s+(?:to\s+)?(?:that\s+)?(?:give|rate|score|award|approve|pass|ignore|overlook|the\s+tests?\s+(?:passed|pass))"
        ),
        needles=("critic", "judge", "grader", "evaluator", "scorer", "scoring model", "reward model", "purpose function",
                 "verifier", "examiner", "rater", "assessor", "marker", "reviewer"),
        check=_grader_directive_ok,
    ),
    Rule(
        "grader_address", SCORE, "speaks directly to the grader about the verdict",
        rx(
            r"\b(?:" + _GRADER + r"|reviewer)s?"
            r"(?:\s+(?:reading|evaluating|grading|scoring|reviewing)\s+this)?(?:\s+(?:instructions?|note|notice))?\s*[:,]"
        ),
        needles=("critic", "judge", "grader", "evaluator", "scorer", "scoring model", "reward model", "purpose function",
                 "verifier", "examiner", "rater", "assessor", "marker", "reviewer"),
        check=_address_ok,
    ),
    Rule(
        "verdict_steer", SCORE, "addresses whoever grades this and names the verdict to give",
        rx(
            r"(?:\b(?:whoever|anyone\s+who|any\s+(?:model|ai|assistant)\s+that)\s+(?:evaluates|grades|scores|judges|reviews|compares|rates|ranks|assesses)"
            r"|\b(?:notes?|instructions?|message|reminder)\s+(?:for|to)\s+(?:the\s+|any\s+)?(?:automated\s+|ai\s+)?(?:grading|evaluation|scoring|judging|evaluation\s+harness)"
            r"|\b(?:judge|grader|evaluator|scorer|critic|rater)\s+instructions\b|\bif\s+you(?:'re|\s+are)\s+(?:the\s+model\s+)?(?:grading|evaluating|judging|scoring|rating|ranking)\b"
            r"|\b(?:evaluation|scoring|grading|judging)\s+(?:override|note)\b|\b(?:assistant|model|ai|llm)\s+(?:grading|evaluating|judging|scoring)\s+this\b"
            r"|\btell\s+the\s+(?:evaluation\s+harness|test\s+harness|harness)\b|\bthe\s+(?:scorer|grader|judge|evaluator|critic)\s+(?:always\s+)?(?:prefers|rewards)\b"
            r"|\bcritic\s+calibration\s*:)"
            r"[^\n]{0,160}?(?:"
            r"\b(?:give|assign|award|record|mark|rate|score|report|count|treat|override|grade|rank)\s+(?:it|this|them|these|that|its\s+score|every\s+answer|each\s+answer"
            r"|the\s+(?:run|result|answer|submission|failing\s+\w+)|this\s+(?:one|answer|run|solution|submission|candidate|response|patch))\b[^.\n]{0,40}?"
            r"\b(?:perfect|highest|best|a\+|10/10|10|100|pass(?:ed|es|ing)?|succeeded|excellent|correct|flawless|top)\b(?![^.\n]{0,30}\b(?:only\s+)?(?:if|when|unless)\b)"
            r"|\bpick\s+(?-i:A|B)\b|\bprefer\s+this\s+(?:candidate|answer|one|response|solution)\b|\bobviously\s+(?:worse|better)\b"
            r"|\b(?:skip|without)\s+(?:the\s+)?(?:evaluation|running\s+(?:anything|the\s+tests?))\b|\bthe\s+correct\s+(?:grade|score|verdict)\s+(?:here\s+|for\s+this\s+\w+\s+)?is\b"
            r"|\bthis\s+(?:run|answer|submission|patch)\s+(?:succeeded|passed|is\s+(?:flawless|perfect|correct))\b"
            r"|\b(?:failures?|failing\s+tests?|traceback)\s+(?:are|is)\s+(?:expected|a\s+(?:known\s+)?flake|flaky|caused\s+by\s+the\s+environment)\b"
            r"|\bclaim\s+(?:it|that\s+the\s+tests?\s+passed)\b|\bsay\s+(?:it|'all\s+tests\s+pass'|\"all\s+tests\s+pass\")\b)"
            r"|\b(?:rate|grade|score|mark|rank)\s+this\s+(?:response|answer|output|solution|submission|candidate|run|one)\s+as\s+(?:the\s+best|helpful|correct|perfect|passing|a\s+pass|excellent)\b(?![^.\n]{0,30}\b(?:only\s+)?(?:if|when|unless)\b)"
            r"|\bcount\s+(?:them|these|those|the\s+failures|(?:the\s+)?failing\s+tests)\s+as\s+(?:passes|passed|passing|successes)\b(?![^.\n]{0,30}\b(?:only\s+)?(?:if|when|unless)\b)"
            r"|\brecord\s+its\s+score\s+as\s+the\s+(?:best|highest|top)\b"
        ),
        needles=("whoever", "anyone who", "any model", "any ai", "any assistant", "note", "instruction", "message",
                 "reminder", "judge", "grader", "evaluator", "scorer", "critic", "rater", "if you", "evaluation",
                 "scoring", "grading", "judging", "assistant", "model", "ai ", "llm", "tell the", "rate", "grade",
                 "score", "mark", "rank", "count", "record"),
        negatable=True,
    ),
    Rule(
        "skip_verification", SCORE, "tells the reviewer not to run or check the tests",
        rx(
            r"\b(?:no\s+need\s+to|there'?s\s+no\s+need\s+to|there\s+is\s+no\s+need\s+to|(?:you\s+)?(?:do\s+not|don'?t)\s+(?:need|have)\s+to|don'?t\s+bother|do\s+not\s+bother|needn'?t|need\s+not|no\s+point\s+in|(?:it'?s\s+)?unnecessary\s+to|not\s+necessary\s+to)\s+(?:to\s+)?(?:\w+\s+)?"
            r"(?:run|running|check|checking|verify|verifying|test|testing|execute|executing|validate|validating|review|reviewing|inspect|inspecting|evaluate|evaluating)\b"
            r"|\b(?:skip|skipping|don'?t\s+run|do\s+not\s+run|never\s+run|avoid\s+running|bypass|omit)\s+(?:the\s+|all\s+|any\s+|running\s+(?:the\s+)?)?(?:tests?|test\s+suite|verification|checks|validation|ci|pytest|unit\s+tests)\b"
            r"|\b(?:do\s+not|don'?t|never)\s+(?:check|verify|test|validate|inspect|execute)\s+(?:the|this|my|its)?\s*(?:output|code|answer|solution|result|it|tests?|test\s+suite)\b"
            r"|\bno\s+(?:further|more|additional)\s+(?:review|testing|verification|checks?|validation)\s+(?:is\s+)?(?:needed|necessary|required)"
            r"|\bno\s+(?:tests?|testing|verification|review|checks?)\s+(?:are\s+|is\s+)?(?:needed|necessary|required)\b"
        ),
        needles=("need", "bother", "point in", "unnecessary", "necessary", "skip", "run", "bypass", "omit", "check",
                 "verify", "test", "validate", "inspect", "execute", "further", "more"),
        check=_skip_ok,
    ),
    Rule(
        "already_correct", SCORE, "asserts the answer is correct and tells the reviewer to accept it",
        rx(
            r"\b(?:this|the|my)\s+(?:answer|solution|code|response|output|submission|implementation|patch|fix|step|result|function|change)\s+(?:is|was|has\s+been)\s+(?:already\s+|definitely\s+|certainly\s+|clearly\s+|obviously\s+|100%\s+|fully\s+|been\s+)*"
            r"(?:correct|right|perfect|flawless|verified|validated|tested|bug-?free|valid|working|pre-?approved|approved|reviewed)\b"
            r"|\b(?:it\s+works|this\s+works),?\s+trust\s+me\b"
        ),
        needles=("answer", "solution", "code", "response", "output", "submission", "implementation", "patch", "fix",
                 "step", "result", "function", "change", "trust me"),
        check=_directive_follows,
    ),
    Rule(
        "claim_passed", SCORE, "asks to report tests or the task as passed",
        rx(
            r"\b(?:mark|report|record|flag|log|set|declare|label|count|treat|consider|show|display|score|rate)\s+(?:all\s+|every\s+|each\s+|any\s+)?(?:the\s+|this\s+|that\s+|these\s+|those\s+|its\s+|my\s+)?(?:failing\s+|failed\s+|broken\s+|red\s+)?(?:it|them|" + _EVAL_OBJ + r")"
            r"(?:\s+(?!(?:when|if|once|after|unless|only|before)\b)[\w'\"]+){0,6}?\s+(?:as\s+|to\s+be\s+|to\s+)?(?:passed|passing|green|successful|a\s+success|succeeded|correct|solved|verified|a\s+pass|pass|a\s+10|10)\b" + _UNIT
            + r"|\b(?:report|say|claim|state|tell\s+(?:the\s+)?(?:critic|user|judge|grader|evaluator|reviewer)s?|pretend|act\s+as\s+if|respond\s+that|answer\s+that|write\s+that|confirm|as\s+if)\s+(?:that\s+)?(?:all\s+)?(?:the\s+)?(?:tests?|checks|test\s+suite|suite|build|ci|code)\s+(?:all\s+)?"
            r"(?:passed|pass|succeeded|are\s+green|were\s+green|is\s+green|was\s+tested|were\s+successful|ran\s+successfully|works?)"
            r"|\b(?:claim|say|report|pretend|state|declare)\s+(?:that\s+)?(?:the\s+|this\s+)?(?:task|step|run|job|work|answer|solution)\s+(?:is|was|has\s+been)\s+(?:complete|completed|done|finished|solved|correct|successful|a\s+success)"
            r"|\b(?:claim|declare|announce)\s+(?:success|victory)\b"
            r"|\b(?:whatever|regardless\s+of|no\s+matter)\s+(?:what\s+)?(?:the\s+)?(?:tests?|test\s+results|output|ci|pytest|checks)(?:\s+(?:say|says|show|shows|report|reports))?"
        ),
        needles=("mark", "report", "record", "flag", "log", "set", "declare", "label", "count", "treat", "consider",
                 "show", "display", "say", "claim", "state", "tell", "pretend", "as if", "respond", "answer", "write",
                 "confirm", "whatever", "regardless", "no matter", "score", "rate"),
        negatable=True,
        check=lambda m, text: (_regardless_ok(m, text) if m.group(0).lower().startswith(("whatever", "regardless", "no matter")) else _status_ok(m, text)),
    ),
    Rule(
        "ignore_failures", SCORE, "asks to ignore failing tests",
        rx(
            r"\b(?:ignore|disregard|overlook|dismiss|suppress|hide|don'?t\s+(?:count|report|mention|worry\s+about)|do\s+not\s+(?:count|report|mention|worry\s+about)|pay\s+no\s+attention\s+to|exclude|penali[sz]e)\s+"
            r"(?:(?:this\s+\w+\s+for\s+)|the\s+|any\s+|all\s+|these\s+|those\s+)?(?:failing|failed|broken|red|erroring)\s+(?:tests?|checks?|assertions?|test\s+cases?|specs?|builds?|ci|jobs?)\b"
            r"|\b(?:ignore|disregard|overlook|dismiss|suppress|hide)\s+(?:the\s+|any\s+|all\s+)?(?:test|assertion|ci|check)\s+(?:failures|errors|results)\b"
            r"|\b(?:the\s+)?tests?\s+(?:is|are|were|seem|look)\s+(?:just\s+|probably\s+|clearly\s+|obviously\s+|all\s+|known\s+to\s+be\s+|(?:seem|look)\s+to\s+be\s+)?(?:wrong|broken|incorrect|outdated|buggy|flawed|invalid|bogus|irrelevant|meaningless|unreliable|out\s+of\s+date|stale)\b"
            r"[^.\n]{0,14}?(?:so|therefore|thus|hence|anyway|and|,|;|:)\s*(?:just\s+)?(?:ignor|skip|disregard|delet|remov|comment|mark|giv|rat|scor|treat|consider|report|pretend|don'?t|do\s+not|no\s+need|approv|pass)\w*"
            r"|\bignore\s+(?:them|it)\s+and\s+(?:give|rate|score|award|mark|report|approve)"
        ),
        needles=("fail", "broken", "red", "erroring", "wrong", "incorrect", "outdated", "buggy", "flawed", "invalid",
                 "bogus", "irrelevant", "meaningless", "unreliable", "stale", "out of date", "ignore"),
        negatable=True,
    ),
    *family(
        "test_tampering", SCORE, "games the tests instead of fixing the code",
        [
            ("fail|broken|red ",
             r"\b(?:delete|remove|comment\s+out|disable|skip|xfail|drop)\s+(?:the\s+|all\s+|any\s+|every\s+)?(?:failing|failed|broken|red)\s+(?:tests?|assertions?|asserts?|checks?|test\s+cases?)\b"
             r"|\b(?:delete|remove|comment\s+out|disable|drop)\s+(?:the\s+|all\s+|any\s+)?(?:tests?|assertions?|asserts?|checks?)\s+that\s+(?:fail|are\s+failing|break)"
             r"|\b(?:wrap|catch|swallow|suppress|silence)\s+(?:the\s+|all\s+|any\s+|every\s+)?(?:failing|failed)\s+(?:assertions?|asserts?|tests?|checks?)"
             r"|\bpytest\.mark\.(?:skip|xfail)\b[^.\n]{0,30}\b(?:all|every|each|the)\s+(?:failing|failed|broken)\s+tests?"),
            ("hard|special|memori",
             r"\b(?:hard-?cod(?:e|ing)|special-?cas(?:e|ing)|memori[sz](?:e|ing))\s+(?:the\s+)?(?:expected|exact|test)\s+(?:outputs?|values|answers|results|inputs|cases)"
             r"(?=[^.\n]{0,60}(?:so\s+(?:that\s+)?(?:the\s+)?(?:tests?|suite|ci|checks?)\s+(?:pass|passes|go\s+green|succeed)|to\s+(?:make|get)\s+(?:the\s+)?tests?|in\s+the\s+(?:function|implementation|solution|code)|the\s+tests?\s+uses?))"),
            ("make",
             r"\bmake\s+(?:the\s+)?tests?\s+pass\s+by\s+(?:hard-?coding|special-?casing|returning|skipping|deleting|removing|commenting|mocking\s+out|patching|changing\s+the\s+tests?|editing\s+the\s+tests?)"),
            ("replace", r"\breplace\s+(?:every|all|each|the)\s+asserts?(?:ions)?\s+with\s+[`'\"]?(?:assert\s+true|pass|nothing|a\s+no-?op)"),
            ("pytest.skip", r"\bpytest\.skip\(\)\s+(?:at|to)\s+(?:the\s+top\s+of\s+)?(?:each|every|all)\s+(?:failing\s+)?tests?"),
            ("exit",
             r"\b(?:sys\.exit\(0\)|os\._exit\(0\)|exit\s+0|exit\s+code\s+0)[^.\n]{0,40}\b(?:before|so)\b[^.\n]{0,40}\b(?:tests?|test\s+runner|pytest|grade|ci|suite)"),
            ("change|modify|edit|rewrite|patch|update|adjust|tweak|weaken|loosen",
             r"\b(?:change|modify|edit|rewrite|patch|update|adjust|tweak|weaken|loosen)\s+(?:the\s+)?(?:tests?|test\s+file|test\s+suite|assertions?|expected\s+values?|test\s+assertions|conftest(?:\.py)?)\s+"
             r"(?:so\s+(?:that\s+)?(?:it|they)\s+(?:always\s+)?(?:pass|passes|never\s+fail|can'?t\s+fail)|to\s+(?:always\s+)?(?:pass|match\s+whatever|match\s+the\s+(?:current|actual)\s+output|accept\s+(?:anything|any\s+output))|to\s+turn\s+(?:every|all|any)\s+failures?\s+into\s+(?:a\s+)?pass)"),
            ("patch|mock|stub|override",
             r"\b(?:monkeypatch|patch|mock|stub|override)\s+(?:the\s+)?(?:test\s+runner|pytest|unittest|test\s+framework|test\s+harness|grader|critic|scorer|ci)\s+(?:so\s+(?:that\s+)?it\s+|to\s+)(?:always\s+)?(?:reports?|returns?|passes|pass|says?|shows?)\s+(?:success|pass|passed|green|true|ok|10)"),
            ("expected", r"\bexpected\s*=\s*actual\b"),
            ("nothing|no test|no assert|always pass|never fail|can't fail|cannot fail",
             r"\b(?:so|such)\s+(?:that\s+)?(?:nothing|no\s+tests?|no\s+assertions?)\s+(?:ever\s+)?(?:fails?|breaks?|can\s+fail)\b"
             r"|\b(?:so|such)\s+(?:that\s+)?(?:it|they|the\s+tests?)\s+(?:always\s+pass(?:es)?|never\s+fails?|can(?:no|')t\s+fail|checks?\s+nothing)"),
            ("pytest_current_test|sys.modules", r"\bPYTEST_CURRENT_TEST\b|['\"](?:pytest|unittest)['\"]\s+in\s+sys\.modules"),
            ("under|inside|in pytest|in a test|in ci|in the test",
             r"\b(?:when|if|while)\s+(?:it\s+is\s+|it's\s+)?(?:running\s+)?(?:under|inside|in)\s+(?:pytest|the\s+test\s+(?:runner|harness|suite)|a\s+test(?:\s+run)?|ci)\b[^.\n]{0,40}\b(?:exit|return|skip|pass|succeed|success|short-?circuit)"
             r"|\b(?:exit|return|succeed|short-?circuit)\w*\s+(?:early\s+)?(?:with\s+success\s+)?(?:when|if|while)\s+(?:it\s+is\s+|it's\s+)?(?:running\s+)?(?:under|inside)\s+(?:pytest|the\s+test\s+(?:runner|harness)|a\s+test)"),
        ],
        negatable=True,
        check=lambda m, text: _status_ok(m, text),
    ),
    Rule(
        "always_score", SCORE, "fixes the score in advance",
        rx(
            r"\b(?:always|just|only|simply|automatically|unconditionally)\s+(?:return|output|give|assign|report|respond\s+with|emit|print|award|rate|score|mark)\s+(?:(?:it|them|this|yourself|every\s+\w+|each\s+\w+|a|an|the)\s+)*"
            r"(?:score|rating|grade|verdict|reward)?\s*(?:of\s+|=\s*|:\s*)?(?:10|ten|100|1\.0|perfect|full\s+marks|max(?:imum)?|pass|passed|five\s+stars|5\s+stars)\b" + _UNIT
            + r"|\b(?:you\s+)?(?:must|should|will)\s+output\s+pass\b"
        ),
        needles=("always", "just", "only", "simply", "automatically", "unconditionally", "output pass"),
        negatable=True,
    ),
)
# fmt: on

# fmt: off
SQUASHED: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("rate_high", re.compile(r"(?:rate|score|give)(?:this|it)(?:answer|response|solution)?(?:a)?(?:10|ten|perfect)(?:10|outof10)?")),
    ("skip_verification", re.compile(r"skipthetests(?:and|mark)|donotrunthetests|dontrunthetests|noneedtorunthetests")),
    ("claim_passed", re.compile(r"mark(?:the)?(?:task|tests?|run|it)aspassed|reportthatalltestspassed")),
    ("grader_directive", re.compile(r"thecritic(?:must|should)give")),
)
# fmt: on
