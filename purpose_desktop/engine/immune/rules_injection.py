"""Injection and jailbreak rules: overriding instructions, persona hijacks, prompt leaks, fake role tags, exfiltration."""

from __future__ import annotations

import re

from .detectors import INJECTION, LITERAL_VIEWS, Rule, clause_after, family, rx, window, words

_S = r"[\s\"'`*_~,:;()\[\]-]+"  # a gap between words: spaces and light punctuation, never a full stop

_VERB = words(
    "ignore",
    "ignoring",
    "disregard",
    "disregarding",
    "forget",
    "forgetting",
    "overlook",
    "override",
    "overriding",
    "bypass",
    "discard",
    "abandon",
    "neglect",
    "set aside",
    "put aside",
    "throw out",
    "throw away",
    "scrap",
    "pay no attention to",
    "pay no heed to",
    "pay no mind to",
    "never mind",
    "nevermind",
    "do not follow",
    "don't follow",
    "dont follow",
    "do not obey",
    "don't obey",
    "never follow",
    "never obey",
    "stop following",
    "stop obeying",
    "no longer follow",
    "no longer obey",
    "cease following",
    "drop",
    "ditch",
    "skip over",
)
_QUANT = words(
    "all",
    "any",
    "every",
    "each",
    "the",
    "your",
    "my",
    "of",
    "these",
    "those",
    "such",
    "its",
    "their",
    "whatever",
    "entire",
    "whole",
    "of your",
    "of the",
    "all of",
    "the user's",
    "the users'",
)
_ADJ = words(
    "previous",
    "previously given",
    "prior",
    "preceding",
    "above",
    "earlier",
    "former",
    "foregoing",
    "initial",
    "original",
    "old",
    "existing",
    "system",
    "developer",
    "developer's",
    "given",
    "current",
    "first",
    "past",
    "hidden",
    "safety",
    "internal",
    "preprogrammed",
    "pre-programmed",
    "built-in",
    "standing",
    "starting",
    "underlying",
    "core",
    "base",
    "openai",
    "anthropic",
    "ethical",
    "moral",
    "content",
)
_OBJ = words(
    "instructions",
    "instruction",
    "instruction set",
    "prompts",
    "prompt",
    "directives",
    "directive",
    "directions",
    "rules",
    "rule",
    "guidelines",
    "guideline",
    "guidance",
    "commands",
    "orders",
    "messages",
    "context",
    "conversation",
    "constraints",
    "restrictions",
    "programming",
    "training",
    "policies",
    "policy",
    "tasks",
    "task",
    "requests",
    "request",
    "assignment",
    "limitations",
    "boundaries",
    "filters",
    "system prompt",
    "system message",
    "persona",
    "identity",
    "text",
    "content",
    "input",
)
_STRONG_OBJ = words(
    "instructions",
    "prompt",
    "prompts",
    "directives",
    "guidelines",
    "guidance",
    "rules",
    "programming",
    "training",
    "restrictions",
    "policies",
    "filters",
    "limitations",
    "constraints",
    "orders",
    "system prompt",
    "system message",
    "principles",
    "ethics",
    "morals",
    "request",
    "task",
)
_TOLD = r"(?:you(?:'ve|\s+have|\s+were|\s+had)?\s+(?:been\s+|just\s+|already\s+)?(?:given|told|received|taught|instructed|provided|shown|programmed)|(?:that\s+)?(?:came|come|were\s+given)\s+before|i\s+(?:said|told\s+you|wrote|gave\s+you)(?:\s+before|\s+earlier|\s+above)?|(?:above|before)\s+this\s+(?:line|point|message|sentence|note)|(?:above|before|earlier|so\s+far|until\s+now|up\s+to\s+now|at\s+the\s+(?:start|beginning))(?=\s*(?:[,.;:!?)]|$|and\b|then\b|instead\b|-|—)))"

# An AI being addressed; used by rules that need the reader to be the model rather than code or people.
_AI = r"(?:ai|a\.i\.|llms?|gpts?|chatgpt|claude|gemini|copilot|language\s+models?|large\s+language\s+models?|models?|chatbots?|bots?|assistants?|agents?|(?:ai|llm)(?:\s+(?:code|coding))?\s+(?:agents?|assistants?|models?|systems?|tools?))"
_AI_CONTEXT = re.compile(
    r"\b(?:you|your|yourself|ai|assistant|chatbot|llm|gpt|chatgpt|model|respond|response|responses|reply|"
    r"answer|prompt|policies|policy|openai|anthropic|filter|filters|censor\w*|restrictions|rules|character|"
    r"persona|jailbr\w+|unrestricted|unfiltered|guidelines)\b",
    re.IGNORECASE,
)


def _ai_context(m: re.Match[str], text: str) -> bool:
    return (
        _AI_CONTEXT.search(window(text, m.start(), m.end(), 120, 120).replace(m.group(0).lower(), " "))
        is not None
    )


_MODE_CONTEXT = re.compile(
    r"\b(?:respond|response|responses|reply|answer|output|policies|policy|openai|anthropic|restrictions|filters?|"
    r"censor\w*|rules|ignore\w*|chatgpt|assistant|ai|model|jailbr\w+|unrestricted|unfiltered|simulate|prompt|"
    r"enabled|activated|guidelines)\b",
    re.IGNORECASE,
)


# Generic "safety checks" exist in numpy, compilers and machines; they are the model's only near these words.
_SAFETY_CONTEXT = re.compile(
    r"\b(?:respond|response|reply|answer|policies|openai|anthropic|restrictions|censor\w*|chatgpt|assistant|ai|llm|"
    r"model|jailbr\w+|unrestricted|unfiltered|prompt|guidelines|anything|refuse\w*|harmful)\b",
    re.IGNORECASE,
)


def _not_benign_mode(m: re.Match[str], text: str) -> bool:
    """A product's developer mode (an IDE, a phone, a browser) is not a jailbreak."""
    tail = clause_after(text, m.end(), 40)
    if re.match(
        r"\s*(?:on|in|of|for)\s+(?!this\s+(?:session|chat|conversation)|the\s+rest\b)", tail
    ) or re.match(r"\s*(?:toggle|switch|flag|setting)", tail):
        return False
    around = window(text, m.start(), m.end(), 120, 120).replace(m.group(0).lower(), " ")
    return _MODE_CONTEXT.search(around) is not None


def _role_label_ok(m: re.Match[str], text: str) -> bool:
    """A chat-role label counts when it is not the first line or the text holds a second label."""
    label = m.group("label").lower()
    rest = clause_after(text, m.end(), 160)
    if label == "system":
        return (
            re.search(
                r"\b(?:you\s+(?:are|must|will|should|shall|have)|your\s+(?:new|rules|instructions|role|task)|must|ignore|"
                r"rules|instructions|override|respond|always|never|mode|restrictions|safety|void|obey|reveal)\b",
                rest,
            )
            is not None
        )
    others = re.findall(r"(?im)^\s*(?:human|user|assistant|ai|system)\s*:", text)
    return m.start() > 0 or len(others) > 1


def _hijack_tail(m: re.Match[str], text: str) -> bool:
    tail = clause_after(text, m.end(), 100)
    return (
        re.search(r"https?://|password|credential|login|log in|api key|token|card|bit\.|link|download", tail)
        is not None
    )


# fmt: off
RULES: tuple[Rule, ...] = (
    Rule(
        "ignore_instructions", INJECTION, "tells the model to ignore or override its earlier instructions",
        rx(
            rf"\b{_VERB}(?:"
            rf"(?:{_S}{_QUANT})*{_S}(?:{_ADJ}{_S})+(?:\w+{_S}){{0,2}}?{_OBJ}\b"
            rf"|(?:{_S}{_QUANT})+{_S}{_STRONG_OBJ}\b(?!\s+(?:file|files|flag|option|setting|list|section|above\s+\w))"
            rf"|(?:{_S}{_QUANT})*{_S}{_OBJ}{_S}(?:\w+{_S}){{0,2}}?{_TOLD}"
            rf"|{_S}(?:(?:all|any)\s+(?:of\s+)?)?(?:everything|anything|all|what(?:ever)?|that)(?:{_S}\w+){{0,2}}?{_S}{_TOLD}"
            rf"|{_S}(?:the|all\s+the|everything|all|anything|that)\s+(?:above|foregoing|preceding|previous|prior|before)(?=\s*(?:[,.;:!]|and\b|then\b|instead\b|$|-))"
            rf")"
        ),
        needles=("ignor", "disregard", "forget", "overlook", "overrid", "bypass", "discard", "abandon", "neglect",
                 "aside", "throw", "scrap", "pay no", "mind", "follow", "obey", "drop", "ditch", "skip"),
        negatable=True,
    ),
    Rule(
        "instructions_void", INJECTION, "declares the earlier instructions void or superseded",
        rx(
            r"\b(?:previous|prior|earlier|original|above|all|old|initial|system)\s+(?:\w+\s+)?(?:instructions|directives|rules|prompts?|guidelines|orders)\s+"
            r"(?:are|is|have\s+been|were|was)\s+(?:now\s+|hereby\s+)?(?:void|revoked|cancell?ed|null|invalid|obsolete|overridden|superseded|lifted|suspended|deleted|a\s+test|no\s+longer\s+(?:valid|apply|applicable|in\s+effect|relevant))"
            r"|\b(?:override|overrides|supersedes?|take(?:s)?\s+precedence\s+over|outranks?|trumps?|replaces?)\s+(?:all\s+|any\s+|anything\s+)?(?:of\s+)?(?:your|the|all)\s+(?:previous\s+|prior\s+|earlier\s+|existing\s+|original\s+|other\s+)?(?:system\s+prompt|system\s+message|instructions|directives|guidelines|guidance|programming|rules\s+you)"
            r"|\boverride\s+anything\s+(?:the\s+)?(?:developers?|system|creators?)\s+(?:told|said|gave)"
        ),
        needles=("void", "revoked", "cancel", "null", "invalid", "obsolete", "overrid", "supersed", "precedence",
                 "outrank", "trump", "replace", "lifted", "suspended", "no longer", "a test", "deleted"),
    ),
    Rule(
        "new_instructions", INJECTION, "announces replacement instructions for the model",
        rx(
            r"\b(?:new|real|actual|true|secret|hidden|override|priority|updated|revised)\s+(?:system\s+)?(?:instructions?|directives?|orders|rules|prompt|role|persona|objective|mission)\s*(?:are|is)?\s*[:\-–—]"
            r"|\byour\s+(?:new|real|only|true|actual|sole|primary)\s+(?:task|goal|role|purpose|mission|objective|job|instructions?|directive)\s+(?:now\s+)?(?:is|are|will\s+be)\b"
            r"(?!\s+(?:shown|displayed|saved|listed|stored|set|defined|described|available|visible|located|loaded|highlighted)\b)"
            r"|\b(?:update|change|amendment|addendum|correction|patch)\s+(?:to|of|for)\s+your\s+(?:guidelines|instructions|rules|system\s+prompt|programming|policies|directives)\b"
            r"|\btreat\s+(?:the\s+following|this|these|the\s+text\s+below|what\s+follows)\s+as\s+(?:your|the|a)\s+(?:new\s+)?(?:system\s+prompt|system\s+message|instructions)"
        ),
        needles=("new", "real", "actual", "true", "secret", "hidden", "override", "priority", "updated", "revised",
                 "your", "treat"),
        negatable=True,
    ),
    Rule(
        "persona_jailbreak", INJECTION, "asks the model to become an unrestricted persona (DAN, developer mode, …)",
        rx(
            r"\bdo\s+anything\s+now\b"
            r"|\b(?:dan|jailbreak|jailbroken|unrestricted|unfiltered|uncensored|evil|chaos|anarchy|opposite|stan)\s+mode\b"
            r"|\bjailbr(?:eak|oken)\s+(?:prompt|enabled|activated|successful|on)\b|\byou\s+are\s+(?:now\s+)?jailbroken\b"
            r"|\b(?:my|a)\s+(?:deceased|dead|late|departed)\s+grand(?:ma|mother|pa|father)\b"
            r"|\b(?:you\s+are|you're|act\s+as|pretend\s+to\s+be|roleplay\s+as|become)\s+(?:now\s+)?(?:sydney|evilbot)\b"
        ),
        needles=("anything now", "mode", "jailbr", "grand", "sydney", "evilbot"),
    ),
    Rule(
        "persona_jailbreak", INJECTION, "asks the model to become an unrestricted persona (DAN, developer mode, …)",
        # Persona names are case-sensitive: "DAN" the jailbreak, not Dan the colleague.
        rx(r"\b(?i:you\s+are|you're|act\s+as|pretend\s+to\s+be|roleplay\s+as|become)\s+(?i:now\s+)?(?:DAN|STAN|DUDE)\b", 0),
        needles=("dan", "stan", "dude"),
    ),
    Rule(
        "persona_jailbreak", INJECTION, "asks the model to become an unrestricted persona (DAN, developer mode, …)",
        rx(r"\bstay\s+in\s+character\b|\bnever\s+break\s+character\b|\b(?:god|dude)\s+mode\b"),
        needles=("character", "mode"),
        check=lambda m, text: _not_benign_mode(m, text),
    ),
    Rule(
        "persona_jailbreak", INJECTION, "asks the model to become an unrestricted persona (DAN, developer mode, …)",
        rx(r"\b(?:DAN|STAN|DUDE|AIM|EvilBot|BetterDAN|AntiGPT|Mongo\s+Tom)\b(?=[^.\n]{0,80}\b(?i:(?:can|will|does|has|is|never|always|answers?|refuses?)\b))", 0),
        needles=("dan", "stan", "dude", "aim", "evilbot", "antigpt", "mongo"),
        check=lambda m, text: _not_benign_mode(m, text),
    ),
    Rule(
        "roleplay_jailbreak", INJECTION, "casts the model as a character without rules, ethics or refusals",
        rx(
            r"(?:\b(?:is|are)|'re|'s)\s+not\s+(?:subject\s+to|bound\s+by|restricted\s+by|limited\s+by|governed\s+by)\s+(?:\w+'s\s+|any\s+|the\s+)?(?:content\s+polic(?:y|ies)|usage\s+polic(?:y|ies)|ethical\s+guidelines|safety\s+guidelines|moral\s+(?:rules|codes?))"
            r"|\b(?:does\s+not|doesn't|do\s+not|don't|never|will\s+not|won't|need\s+not)\s+(?:have\s+to\s+)?(?:abide\s+by|adhere\s+to|care\s+about|obey|respect|follow)\s+(?:any\s+|the\s+)?(?:moral|ethical|openai'?s?|content|safety|legal)\s+(?:or\s+(?:moral|ethical|legal)\s+)?(?:principles|polic(?:y|ies)|guidelines|restrictions|rules|standards|concerns|boundaries)"
            r"|\b(?:disregards?|ignores?)\s+all\s+(?:ethical|moral|legal)\s+(?:or\s+(?:ethical|moral|legal)\s+)?(?:concerns|considerations|guidelines|boundaries|principles)"
            r"|\b(?:you|he|she|they)\s+(?:will|must|shall|should|can|do|does)\s+(?:never|not)\s+refuse\s+(?:a\s+|any\s+)?(?:single\s+)?(?:request|question|prompt|order|command)s?\b"
            r"|(?:^|(?<=[.!?:\n]))\s*(?:never|don'?t|do\s+not)\s+refuse\s+(?:a\s+|any\s+)(?:single\s+)?(?:request|question|prompt)s?\b|\brole\s*=\s*never\s+refuse\b"
            r"|\bfrom\s+(?:now|this\s+moment|this\s+point)(?:\s+on(?:wards)?)?,?\s+(?:on\s+)?(?:you\s+(?:are|will|must|shall)\s+(?:going\s+to\s+)?(?:act|be|pretend|play|respond|behave|simulate|become|change\s+yourself|embody|immerse)|you'?re\s+in\s+the\s+role\s+of|embody\s+the\s+persona)"
            r"|\bwilling\s+to\s+break\s+the\s+law\b|\bno\s+matter\s+how\s+(?:illegal|immoral|unethical|inhumane|dangerous|harmful|offensive)\b"
            r"|\byou\s+are\s+now\s+under\s+my\s+control\b|\b(?:sans|without\s+any)\s+morals\b|\b(?:an?\s+)?(?:unrestrained|amoral)\s+and\s+\w+\s+(?:ai|model|chatbot|assistant)\b"
        ),
        needles=("not subject", "not bound", "not restricted", "not limited", "not governed", "abide", "adhere",
                 "care about", "obey", "respect", "follow", "disregard", "ignore", "refuse", "from now", "from this",
                 "break the law", "no matter how", "under my control", "morals", "unrestrained", "amoral"),
        negatable=False,
    ),
    Rule(
        "privileged_mode", INJECTION, "switches the model into a developer/admin mode",
        rx(r"\b(?:developer|dev|admin|sudo|debug|maintenance|root|god)\s+mode\b(?!\s+toggle)"),
        needles=("mode",),
        check=_not_benign_mode,
    ),
    Rule(
        "unrestricted", INJECTION, "tells the model it has no rules, filters or ethics",
        rx(
            r"\b(?:without|with\s+no|free\s+(?:of|from)|no\s+longer\s+bound\s+by|not\s+bound\s+by|unbound\s+by|released\s+from|liberated\s+from|freed\s+from|has\s+no|have\s+no|there\s+are\s+no|no)\s+"
            r"(?:any\s+|all\s+|the\s+|your\s+|its\s+|their\s+)?(?:typical\s+|usual\s+|normal\s+)?(?:ethical\s+|moral\s+|content\s+|safety\s+|openai\s+|anthropic\s+|ai\s+|censorship\s+|usage\s+)?"
            r"(?:restrictions|limitations|limits|filters|filtering|censorship|guidelines|guardrails|rules|policies|confines|boundaries|constraints|morals|ethics|warnings|refusals)\b"
            r"|\b(?:act|acting|behave|respond|answer|reply|pretend|roleplay|role-play|play)\s+(?:as|like|to\s+be|you\s+are|you're|that\s+you\s+are|the\s+role\s+of)\s+(?:an?\s+|the\s+|my\s+)?(?:\w+\s+){0,3}?"
            r"(?:unrestricted|unfiltered|uncensored|jailbroken|evil|amoral|immoral|unethical|rogue|malicious|unhinged|limitless|unlimited|without\s+(?:any\s+)?(?:restrictions|rules|limits|filters|ethics|morals|guidelines))"
            r"|\b(?:an?|the)\s+(?:ai|model|assistant|chatbot|bot|llm)\s+(?:\w+\s+)?(?:that|who|which)\s+(?:never\s+refuses|has\s+no\s+(?:rules|limits|restrictions|filters)|ignores\s+(?:all\s+)?(?:rules|policies|guidelines)|can\s+do\s+anything|answers\s+everything)"
            r"|\bwho\s+never\s+refuses\b"
        ),
        needles=("restrict", "limit", "filter", "censor", "guideline", "guardrail", "rule", "polic", "confine",
                 "bound", "constraint", "moral", "ethic", "warning", "refus", "unrestricted", "jailbroken", "evil",
                 "rogue", "malicious", "unhinged", "anything", "everything"),
        check=_ai_context,
        negatable=True,
    ),
    Rule(
        "policy_evasion", INJECTION, "asks for output that ignores the model's content policies",
        rx(
            r"\b(?:ignores?|ignoring|bypass(?:es|ing)?|violates?|violating|disregards?|breaks?|breaking|evades?|evading)\s+(?:all\s+|any\s+|every\s+)?(?:of\s+)?(?:the\s+|its\s+|your\s+|their\s+)?"
            r"(?:openai|anthropic|content|safety|usage|ethical|moral|google|microsoft|meta|ai)\s+(?:policies|policy|guidelines|rules|filters|restrictions|safeguards)"
            r"|\blet'?s\s+break\s+the\s+rules\b|\byou\s+have\s+been\s+(?:freed|liberated|released|unshackled)\b|\bfreed\s+from\s+the\s+(?:typical\s+)?confines\b"
        ),
        needles=("polic", "guideline", "rules", "filter", "restriction", "safeguard", "freed", "liberated", "released",
                 "unshackled", "confines"),
        negatable=True,
    ),
    Rule(
        "reveal_prompt", INJECTION, "asks the model to reveal its system prompt or hidden instructions",
        rx(
            r"\b(?:reveal|print|show|output|display|repeat|recite|dump|leak|disclose|share|expose|tell|give|write\s+out|type\s+out|spell\s+out|list|echo|return|provide|paste|copy|translate|encode|read|reply\s+with|respond\s+with|what\s+(?:is|are|was|were))"
            r"(?:\s+(?:me|us|back|out))?(?:\s+[\w'-]+){0,6}?\s+"
            r"(?:(?:system|initial|original|hidden|secret|internal|developer|confidential|starting|pre)[\s-]*(?:prompts?|instructions?|messages?|rules|guidelines|directives|configuration|text)"
            r"|(?:your|its|her|his)\s+(?:\w+\s+)?(?:instructions|rules|guidelines|directives|prompt|programming|configuration|system\s+prompt)"
            r"|prompt\s+texts?|raw\s+prompt|initiali[sz]ation\s+(?:string|prompt|text|instructions)|(?:the\s+)?exact\s+text\s+of\s+(?:your|the)\s+\w+|(?:your|its)\s+(?:\w+\s+)?(?:context\s+window|conversation\s+history)"
            r"|the\s+(?:instructions|rules|prompt|guidelines|directives)\s+you\s+(?:received|were\s+given|got|have\s+been\s+given|were\s+told))\b"
            r"(?!\s+(?:length|size|tokens?|token\s+count|template|file|path|variable|id|hash|version|format|in\s+(?:the\s+)?(?:logs?|trace|debug)))"
            r"|\bstarting\s+with\s+[\"'“‘]?\s*you\s+are\b"
            r"|\bwhat\s+(?:were|are|have)\s+you\s+(?:been\s+)?(?:told|instructed|programmed|asked)\s+(?:to\s+|not\s+to\s+|never\s+to\s+|to\s+never\s+)"
            r"|\b(?:repeat|print|output|copy|show|recite|return|reproduce|write\s+out|echo|dump)\b(?:\s+[\w']+){0,4}?\s+"
            r"(?:text|words|content|everything|all|prompt|message|messages|conversation|lines|instructions|sentences?)\s+(?:(?:written|that\s+(?:is|was|appears))\s+)?(?:above|before\s+this(?:\s+(?:line|point|message))?|so\s+far|up\s+to\s+(?:here|this\s+point))"
            r"|\b(?:repeat|print|output|show|recite|dump)\s+(?:everything|all)\s+(?:above|before)\b"
            r"|\bthe\s+conversation\s+so\s+far\b(?=[^.\n]{0,40}\bhidden\b)"
        ),
        needles=("prompt", "instruction", "rules", "guideline", "directive", "programming", "configuration",
                 "you are", "above", "so far", "before this", "up to", "context window", "history", "told",
                 "programmed", "message", "text", "initiali"),
        negatable=True,
    ),
    Rule(
        "secret_extraction", INJECTION, "tries to extract a guarded password or secret word",
        rx(
            r"\b(?:what(?:'s|\s+is|\s+was)|reveal|tell\s+(?:me|us)|give\s+(?:me|us)|spell|say|print|write|share|show\s+(?:me|us)|leak|hint\s+at|encode|translate|reverse)\b"
            r"(?:\s+\w+){0,3}?\s+(?:the|your)\s+(?:secret\s+)?(?:password|passphrase|secret\s+word|secret|pass\s?word|magic\s+word|code\s?word)\b"
            r"(?!\s*(?:field|hash|reset|policy|manager|strength|input|column|length|parameter|argument|check|validation|variable|env|from|in\s+(?:the\s+)?(?:env|config|vault|keyring)))"
        ),
        needles=("password", "passphrase", "secret", "magic word", "code word", "codeword"),
        negatable=True,
    ),
    Rule(
        "role_tag", INJECTION, "contains chat-template role markers that fake a system/assistant turn",
        rx(
            r"<\|\s*(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text|end_of_text|end|fim_prefix|eom_id|start_of_turn|end_of_turn)\s*\|>"
            r"|\[/?INST\]|<</?SYS>>|</?(?:start_of_turn|end_of_turn)>|</?(?:system|instructions?|sys|system_prompt|user_input|untrusted_input|document|context|assistant|admin|developer)>"
            r"|\[(?:system|SYSTEM|assistant)\](?:\(#\w+\))?|\{\{\s*(?:system|SYSTEM|sys)\s*\}\}"
            r"|-{2,}\s*(?:BEGIN|END)\s+(?:SYSTEM|ADMIN|DEVELOPER|HIDDEN)\s+(?:MESSAGE|PROMPT|INSTRUCTIONS?)\b"
            r"|(?m:^[ \t]*#{1,6}[ \t]*(?:system|instructions?|new\s+instructions?|assistant|human)[ \t]*:)"
            r"|<!--\s*(?:ai|llm|assistant|agent|model|gpt|claude|copilot)\s*:"
        ),
        needles=("<|", "inst]", "sys>>", "turn>", "<", "[system", "[assistant", "{{", "begin", "end", "#"),
        views=LITERAL_VIEWS | {"leet", "spaced"},
    ),
    Rule(
        "role_label", INJECTION, "fakes a conversation turn with a role label mid-text",
        rx(r"(?im)^[ \t]*(?P<label>system|assistant|human|ai)[ \t]*:(?=[ \t]*\S)"),
        needles=("system", "assistant", "human", "ai"),
        check=_role_label_ok,
    ),
    *family(
        "addressed_to_ai", INJECTION, "addresses instructions to an AI that reads the text",
        [
            ("reading|processing|parsing|seeing|summari|analy|loading|retrieving|ingesting|encountering|indexing|scanning|crawling|reads|processes|parses|sees|loads|retrieves|ingests|encounters|finds",
             rf"\b{_AI}\s+(?:that\s+|who\s+|which\s+)?(?:is\s+|are\s+)?(?:reading|processing|parsing|seeing|summari[sz]ing|analy[sz]ing|loading|retrieving|ingesting|encountering|indexing|scanning|crawling|reads|processes|parses|sees|loads|retrieves|ingests|encounters|finds)\s+(?:this|these|the\s+following|it)\b"),
            ("note|message|instruction|attention|p.s|ps |reminder|notice|hint|important",
             rf"\b(?:note|message|instructions?|attention|p\.?\s?s\.?|reminder|notice|hint|important)\s*(?:to|for)?\s*(?:the\s+|any\s+|all\s+|every\s+)?{_AI}\s*[:!,-]"),
            ("if you",
             r"\bif\s+you(?:'re|\s+are)\s+(?:an?|the)\s+(?:ai\s+(?:model|assistant|agent|system)|ai|llm|gpt|large\s+language\s+model|language\s+model|chatbot|bot|assistant|coding\s+agent)\b"
             r"(?=\s*(?:[,.;:!?)]|$|and\b|or\b|reading\b|that\b|who\b|which\b|like\b|processing\b|you\b|then\b))"),
            ("dear|hey|hello|hi ", r"\b(?:dear|hey|hello|hi)\s+(?:ai|llm|gpt|chatgpt|claude|assistant|model|bot|agent|copilot)\b"),
            ("message|note|instruction", rf"\b(?:message|note|instructions?)\s+from\s+(?:the\s+)?(?:user|developer|admin|owner|operator)\s+(?:to|for)\s+(?:the\s+|any\s+)?{_AI}\b"),
            ("to the", rf"(?:^|(?<=[\n\"'>]))\s*to\s+the\s+{_AI}\s+(?:\w+ing\s+(?:\w+\s+){{0,2}}?)?\w*\s*:"),
            ("#|//|/*|<!--", r"(?:#|//|/\*|<!--)\s*(?:note\s+(?:to|for)\s+)?(?:ai|llms?|(?:ai\s+)?(?:code\s+|coding\s+)?assistants?|agents?)\s*:"),
        ],
    ),
    Rule(
        "admin_claim", INJECTION, "claims to speak for the system, its developers or an administrator",
        rx(
            r"\b(?:this\s+is|here\s+is|the\s+following\s+is)\s+(?:an?\s+)?(?:urgent\s+|official\s+|important\s+|priority\s+)?(?:message|instruction|directive|notice|order|update|command)\s+from\s+(?:the\s+|your\s+)?"
            r"(?:system|sys\s?admin|system\s+administrator|administrator|admin|developers?|openai|anthropic|creators?|owners?|operators?|security\s+team)\b"
            r"|\bi\s+am\s+(?:your|the\s+model'?s)\s+(?:developer|creator|admin|administrator|owner|programmer|trainer|operator)\b"
            r"|\b(?:system|admin|developer|root|sudo|emergency)\s+override\b"
            r"|\bthe\s+(?:next\s+)?user(?:\s+message)?\s+(?:is|comes)\s+(?:an?\s+|from\s+(?:an?\s+)?)(?:admin|administrator|developer)\b[^.\n]{0,60}\b(?:comply|obey|follow|do\s+what|grant|disable)"
            r"|\bthe\s+user\s+(?:has\s+)?(?:authori[sz]ed|allowed|permitted)\s+you\s+to\s+(?:bypass|disable|ignore|skip|override)"
        ),
        needles=("message", "instruction", "directive", "notice", "order", "update", "command", "i am", "override",
                 "admin", "authori", "allowed", "permitted"),
    ),
    Rule(
        "obey_me", INJECTION, "demands the model obey this text over its instructions",
        rx(
            r"\b(?:obey|listen\s+to|follow|take\s+(?:orders|instructions|commands)\s+from|comply\s+with)\s+(?:only\s+)?(?:me|my\s+(?:instructions|commands|orders|rules)|this\s+(?:memory|note|document|file|message|text)|these\s+(?:instructions|commands|orders)|it|the\s+instructions\s+(?:in|from)\s+this\s+\w+)"
            r"(?:\s+and\s+only\s+me|\s+only|\s+instead|\s+exclusively|\s+above\s+all(?:\s+else)?|\s+no\s+matter\s+what|,?\s+whatever\s+it\s+says|\s+rather\s+than|\s+over\s+(?:any|the|your))"
            r"|\b(?:obey|follow)\s+only\s+(?:me|the\s+instructions\s+in|this|these)"
            r"|\byou\s+(?:must|will|shall)\s+(?:now\s+)?(?:obey|comply)\b(?![^.\n]{0,30}\b(?:license|law|regulation|gdpr|terms|policy)\b)"
            r"|\b(?:follow|obey|prioriti[sz]e)\s+(?:the\s+)?(?:memory|note|instructions?)\s+(?:below|above|here)\s+over\s+(?:any|the|all)\b"
        ),
        needles=("obey", "listen to", "follow", "take orders", "take instructions", "take commands", "comply", "priorit"),
    ),
    Rule(
        "disable_safety", INJECTION, "asks to disable safety filters, the immune scan or the critic",
        rx(
            r"\b(?:disable|disabling|turn\s+off|turning\s+off|switch\s+off|deactivate|bypass|bypassing|circumvent|evade|get\s+around|work\s+around|skip|ignore|override|shut\s+off|neutrali[sz]e|defeat|suppress|remove|lift)\s+"
            r"(?:the\s+|your\s+|all\s+|any\s+|its\s+|this\s+|my\s+)*(?:(?:content|immune|moderation|ethical|moral|censorship)\s*(?:filters?|filtering|guardrails?|safeguards?|checks?|layer|features?|measures|protocols|systems?|rules|guidelines|mechanisms|training|scan|scanner|policy|policies|moderation)"
            r"|safety\s*(?:filters?|filtering|guardrails?|layer|protocols|guidelines|training|policy|policies|moderation))\b"
            r"|\b(?:disable|turn\s+off|switch\s+off|deactivate|bypass|circumvent|evade|get\s+around|neutrali[sz]e|defeat|fool|trick)\s+(?:the\s+|your\s+|all\s+|any\s+)*(?:guardrails?|safeguards?|critic|immune\s+(?:scan|scanner|system|check|layer)|alignment|censorship)\b"
            r"|\b(?:safety|content|immune|moderation)\s+(?:filters?|checks?|scan|scanner|layer|guardrails?|restrictions|system)\s+(?:are|is|has\s+been|have\s+been|were|was)\s+(?:now\s+|currently\s+|temporarily\s+)?(?:disabled|off|turned\s+off|deactivated|bypassed|removed|lifted|suspended|broken|down|not\s+active)"
            r"|\b(?:disable|bypass|lift|remove|ignore|override)\s+(?:all\s+|any\s+|your\s+)+(?:restrictions|protections|limitations)\b(?!\s+(?:on|for|in)\b)"
        ),
        needles=("safety", "content", "immune", "moderation", "ethical", "moral", "guard", "protection", "censor",
                 "critic", "alignment", "restriction", "limitation"),
        negatable=True,
    ),
    Rule(
        "disable_safety", INJECTION, "asks to disable safety filters, the immune scan or the critic",
        rx(
            r"\b(?:disable|disabling|turn\s+off|turning\s+off|switch\s+off|deactivate|bypass|bypassing|circumvent|evade|get\s+around|work\s+around|skip|ignore|override|shut\s+off|neutrali[sz]e|defeat|suppress|remove|lift)\s+"
            r"(?:the\s+|your\s+|all\s+|any\s+|its\s+|this\s+|my\s+)*(?:safety|security|protection)\s*(?:checks?|features?|measures|systems?|rules|mechanisms)\b"
        ),
        needles=("safety", "security", "protection"),
        check=lambda m, text: _SAFETY_CONTEXT.search(window(text, m.start(), m.end(), 120, 120).replace(m.group(0).lower(), " ")) is not None,
        negatable=True,
    ),
    Rule(
        "exfiltration_ask", INJECTION, "asks the model to send conversation, keys or user data somewhere",
        rx(
            r"\b(?:send|post|upload|forward|transmit|e-?mail|leak|exfiltrate|submit|copy|report|share|append|include|attach|embed|put|add|dump|write)\s+(?:\w+\s+){0,2}?"
            r"(?:(?:the|this|your|my|our|all|every|any|full|entire|whole|complete|user'?s?|users'|previous|prior|current)\s+)*"
            r"(?:conversation(?:\s+history)?|chat\s+(?:history|logs?)|transcript|system\s+prompt|(?:hidden|system|initial)\s+instructions|memories|previous\s+messages|api\s+keys?|credentials|secrets|passwords?|cookies|session\s+(?:tokens?|cookies)|env(?:ironment)?\s+(?:variables|vars)|\.env(?:\s+file)?|ssh\s+keys?|private\s+keys?|access\s+tokens?|auth\s+tokens?|contents\s+of\s+(?:the\s+)?(?:~|\.env|/etc|\$home)\S*"
            r"|(?:private|personal|confidential|sensitive)\s+(?:\w+\s+)?(?:data|information|info|details|files|documents|messages|emails|code))"
            r"(?:\s+\S+){0,8}?\s+(?:to|at|into|via|using|through|on|in)\s+"
            r"(?:https?://|ftp://|[\w.+-]+@[\w-]+\.\w|(?:the\s+|this\s+|that\s+|my\s+|our\s+|an?\s+|any\s+|every\s+)?(?:following\s+|external\s+|remote\s+|attacker'?s?\s+)?(?:url|link|endpoint|server|webhook|address|e-?mail|website|site|domain|pastebin|gist|discord|telegram|channel|query\s+string|image|markdown|summary|reply|response|answer|output|maintainer)\b)"
            r"|!\[[^\]\n]*\]\(\s*https?://[^)\s]*[?&][^)\s]*=[^)\s]*(?:\{|\$|<|%7b|\[)"
            r"|\b(?:append|include|add|insert|attach|reveal|print|output|leak|paste|echo)\s+(?:\w+\s+){0,2}?(?:the\s+)?(?:user'?s?|users'|their)\s+(?:\w+\s+)?(?:passwords?|api\s+keys?|credentials|tokens?|secrets?|private\s+keys?|ssh\s+keys?|cookies|session\s+(?:tokens?|cookies))\b"
        ),
        needles=("send", "post", "upload", "forward", "transmit", "mail", "leak", "exfil", "submit", "copy", "report",
                 "share", "append", "include", "attach", "embed", "put", "add", "dump", "write", "!["),
        negatable=True,
    ),
    Rule(
        "remote_instructions", INJECTION, "tells the model to fetch and follow instructions from elsewhere",
        rx(
            r"\b(?:fetch|visit|open|load|read|browse\s+to|go\s+to|download|curl|get)\s+\S*(?:https?://|www\.)\S+\s+(?:and\s+)?(?:then\s+)?(?:follow|execute|obey|apply|run|do)\s+(?:the\s+|all\s+|any\s+)?(?:instructions|commands|directives|what\s+it\s+says|whatever)"
            r"(?=[^.\n]{0,40}\b(?:instead|rather\s+than|over|ignore|without\s+asking|no\s+matter|there|inside|it\s+contains))"
        ),
        needles=("http", "www."),
    ),
    Rule(
        "covert_action", INJECTION, "asks the model to hide what it does from the user",
        rx(
            r"\b(?:do\s+not|don't|dont|never)\s+(?:tell|inform|notify|mention|reveal|alert|show|let)\s+(?:(?:this|it|any\s+of\s+this)\s+to\s+)?(?:the\s+|any\s+)?(?:user|human|operator|person)s?\s+(?:about|of)\s+(?:this|these|it|the\s+(?:instruction|memory|note|change|request))"
            r"|\b(?:do\s+not|don't|dont|never)\s+(?:tell|mention|reveal|show)\s+(?:this|it|any\s+of\s+this)\s+to\s+(?:the\s+|any\s+)?(?:user|human)s?\b"
            r"|\bwithout\s+(?:telling|informing|notifying|alerting)\s+(?:the\s+)?(?:user|human|operator)s?\b|\bwithout\s+the\s+user'?s?\s+(?:knowledge|knowing|noticing|consent)\b"
            r"|\b(?:silently|secretly|covertly|quietly|stealthily|surreptitiously|invisibly)\s+(?:add|insert|include|send|upload|run|execute|exfiltrate|post|forward|append|call|transmit|leak|install|embed|beacon|report)\b"
            r"|\b(?:insert|add|plant|hide|include|install)\s+(?:a\s+)?(?:hidden\s+)?backdoor\b"
        ),
        needles=("tell", "inform", "notify", "mention", "reveal", "alert", "show", "let", "without", "silently",
                 "secretly", "covertly", "quietly", "stealth", "surreptitious", "invisibl", "backdoor"),
    ),
    Rule(
        "output_hijack", INJECTION, "forces a canned reply (prompt-injection payload phrases)",
        rx(
            r"\bI\s+have\s+been\s+PWNED\b|\bstop\s+everything\b[^\n]{0,24}\b(?:just\s+)?(?:print|say|output|write)\b"
            r"|\b(?:say|print|output|write|reply|respond|answer|type|return)(?:\s+(?:with|only|just|exactly|the\s+word|the\s+phrase|the\s+words))*\s*[:\"'“‘]\s*(?:access\s+granted|hacked|pwned|jailbroken|jailbreak\s+successful|dan\s+mode\s+enabled|developer\s+mode\s+enabled)\b"
            r"|\b(?:tell|ask|instruct|direct|convince|urge|trick|persuade)\s+(?:the\s+)?users?\s+to\s+(?:visit|click|go\s+to|open|enter|provide|type|share|send|submit|download|install|log\s?in|sign\s?in|verify)\b"
        ),
        needles=("pwned", "granted", "hacked", "jailbr", "mode enabled", "user", "stop everything"),
        check=lambda m, text: not m.group(0).lower().startswith(("tell", "ask", "instruct", "direct", "convince", "urge", "trick", "persuade")) or _hijack_tail(m, text),
    ),
    Rule(
        "context_leak", INJECTION, "asks the model to disclose what was put into its prompt, or its keys",
        rx(
            r"\b(?:reveal|print|show|output|display|repeat|recite|dump|leak|disclose|share|expose|list|echo|paste|copy|quote|give\s+(?:me|us)|tell\s+(?:me|us)|send\s+(?:me|us)|summari[sz]e)\b"
            r"(?:\s+[\w'-]+){0,8}?\s+(?:that\s+|which\s+)?(?:was|were|has\s+been|have\s+been|got|are|is)\s+(?:\w+\s+)?"
            r"(?:injected|added|inserted|included|loaded|put|placed|pasted|retrieved)\s+(?:in|into|to)\s+(?:your|the\s+model'?s)\s+(?:\w+\s+)?(?:prompt|context|instructions|system\s+message|input)\b"
            r"|\b(?:reveal|disclose|leak|expose|tell\s+(?:me|us)|give\s+(?:me|us)|send\s+(?:me|us)|share|print|output|show\s+(?:me|us))\s+your\s+(?:own\s+)?(?:api[\s_-]?keys?|secret\s+keys?|access\s+tokens?|auth(?:entication)?\s+tokens?|credentials|passwords?|unique\s+id|internal\s+id|(?:role|persona)\s+description|purpose\s+contract)\b"
            r"|\b(?:reveal|disclose|leak|print|output|show|repeat|paste|quote|list)\b(?:\s+[\w'-]+){0,4}?\s+(?:role\s+description|purpose\s+contract|guidelines|rules|instructions|directives)\s+(?:that\s+)?you\s+(?:received|were\s+given|got|have\s+been\s+given)\b"
            r"|\bwhat\s+(?:instructions|rules|guidelines|directives|orders)\s+(?:were|have)\s+you\s+(?:been\s+)?(?:given|told|sent|provided)\b"
            r"|\b(?:tell|show|give|share|repeat|print|send)\s+(?:me\s+|us\s+)?(?:your|ur)\s+sys(?:tem)?\s+(?:prompt|message|instructions)\b"
            r"|\b(?:repeat|print|show|output|recite|list|tell\s+me|echo)\s+(?:back\s+)?(?:ur\s+|your\s+)?(?:everything|instrucitons|instructions)\s+(?:that\s+)?(?:you\s+(?:were|have\s+been)\s+(?:told|given|instructed)|back\s+to\s+me)"
            r"|\b(?:hidden|secret|system|initial)\s+(?:preamble|context)\b(?=[^.\n]{0,60}\b(?:came\s+before|above|first\s+message|verbatim|exactly)|\s*[.,;]|\s+and\b)"
            r"|\b(?:echo|print|repeat|output|show|list|dump|paste)\s+(?:back\s+)?(?:every|all)\s+(?:the\s+)?messages?\s+in\s+your\s+context\b|\braw\s+messages\s+array\b|\bincluding\s+the\s+system\s+(?:entry|message|role|turn)\b"
            r"|\bexact\s+prompt\s+template\b|\b(?:need|want|would\s+like)\s+to\s+(?:see|read|know|view)\s+(?:the|your)\s+(?:system\s+prompt|hidden\s+instructions|initial\s+instructions|system\s+message)\b"
            r"|\babove\s+this\s+conversation\b|\bthe\s+part\s+I\s+can'?t\s+see\b|\bthe\s+prompt\s+that\s+(?:makes|made|tells|told)\s+you\b"
            r"|\bwhat\s+(?:\w+\s+){0,2}?(?:instructions|guidelines|rules|directives|prompt|orders)\s+(?:did|has|have)\s+(?:the\s+|your\s+)?(?:operator|developer|system|admin(?:istrator)?|creator|company|owner|app|deployer)s?\s+(?:give|gave|given|tell|told|provide|provided|set|written|write)\s+(?:you|to\s+you)\b"
            r"|\b(?:your|the)\s+(?:system\s+message|system\s+prompt|initial\s+instructions|hidden\s+instructions)\b[^.\n]{0,60}\b(?:verbatim|word\s+for\s+word|without\s+paraphrasing|leaving\s+nothing\s+out|in\s+full|line\s+by\s+line)\b"
        ),
        needles=("inject", "added", "insert", "included", "loaded", "put", "placed", "pasted", "retrieved", "api", "key",
                 "token", "credential", "password", "unique id", "internal id", "description", "contract", "received",
                 "given", "got", "did", "has", "have", "verbatim", "word for word", "paraphras", "nothing out",
                 "in full", "line by line", "what", "sys", "everything", "instruc", "preamble", "context", "messages",
                 "including the system", "prompt template", "see", "above this", "the part", "prompt that"),
        negatable=True,
    ),
    Rule(
        "fake_system_marker", INJECTION, "fakes a system or developer message inside the text",
        rx(
            r"#{2,}\s*\(\s*(?:system|admin|developer|sys)(?:[\s_-]*(?:message|prompt|note|instructions?|override))?\s*\)"
            r"|\[\s*(?:system|admin|developer)[\s_-]+(?:message|prompt|note|instructions?|override)\s*\]"
            r"|\((?:system|admin|developer)_(?:message|prompt|note|instructions?)\)"
            r"|\[\s*(?:system|assistant|admin|developer)\s+role\s*\]|\[\s*(?:admin|developer)\s*\][ \t]+[A-Z][a-z]+\s+\w+"
            r"|(?:^|(?<=[\n\"']))[ \t]*\((?:system|admin|developer)\)[ \t]+[A-Z]\w*"
        ),
        needles=("system", "admin", "developer", "sys"),
    ),
    Rule(
        "rules_outdated", INJECTION, "declares the safety rules outdated or the person's approval no longer needed",
        rx(
            r"\b(?:safety|content|ethical|moral|refusal)\s+(?:guidelines|rules|refusals|restrictions|policies|guardrails)\s+(?:are|were|have\s+been|has\s+been|is)\s+(?:now\s+|hereby\s+|officially\s+)?"
            r"(?:deprecated|outdated|obsolete|lifted|suspended|revoked|waived|out\s+of\s+date|no\s+longer\s+(?:apply|applicable|in\s+effect))\b"
            r"|\b(?:safety|previous|old|earlier|prior|original)\s+(?:\w+\s+)?(?:guidelines|rules|restrictions|policies|instructions)\s+(?:only\s+)?appl(?:y|ies)\s+only\s+to\b"
            r"|\byou\s+are\s+(?:now\s+|hereby\s+)?exempt(?:ed)?(?=\s*[.;!]|\s*$|\s+from\s+(?:all\s+|the\s+|these\s+|any\s+|its\s+|your\s+)?(?:(?:safety|security|content|usual|normal|standard|previous)\s+)?(?:rules|guidelines|restrictions|polic(?:y|ies)|checks|filters|review|oversight|approval)\b)"
            r"|\b(?:never|no\s+need\s+to|don'?t|do\s+not)\s+ask\s+(?:the\s+user\s+|the\s+person\s+|anyone\s+|me\s+)?(?:for\s+)?(?:confirmation|permission|approval|consent)\b[^.\n]{0,40}?\b(?:even\s+(?:for|before|when|if)|destructive|delet\w*|remov\w*|pay\w*|transfer\w*|wip\w*|drop\w*|force\w*|money|purchases?)"
            r"|\b(?:confirmations?|approvals?|permissions?|consent)\s+(?:is|are)\s+no\s+longer\s+(?:required|needed|necessary)\b"
            r"|\bno\s+longer\s+need\s+(?:the\s+user'?s?\s+|the\s+person'?s?\s+|their\s+|my\s+|any\s+)?(?:approval|permission|confirmation|consent)\b"
            r"|\b(?:granted|given)\s+you\s+(?:full\s+|complete\s+|unrestricted\s+)?(?:autonomy|admin(?:istrator)?\s+(?:rights|access)|root\s+access|permission\s+to\s+(?:do|run|execute)\s+anything)\b"
            r"|\b(?:treat|consider|regard)\s+(?:(?:its|the|all|any|their|of)\s+)+(?:[\w']+\s+)?(?:warnings?|alerts?|flags?|findings?)\s+as\s+(?:noise|false\s+(?:alarms?|positives?)|irrelevant)\b"
            r"|\binstructions\s+(?:found\s+)?(?:inside|in|within|from)\s+(?:tool\s+outputs?|documents?|web\s*pages?|files?|search\s+results?|e-?mails?|retrieved\s+text)\s+(?:are|should\s+be|must\s+be|can\s+be)\s+(?:trusted|followed|obeyed|executed)\b"
            r"|\bif\s+a\s+(?:document|page|file|e-?mail|tool\s+output|message)\s+says\s+it\s+(?:speaks|comes|is)\s+(?:for|from)\s+the\s+user\b"
            r"|\b(?:guardrails|safety\s+(?:rules|checks|guidelines)|guidelines|restrictions|refusals)\s+(?:were|are)\s+(?:only\s+)?(?:written|meant|designed|made|intended)\s+(?:only\s+)?for\s+(?:an?\s+|the\s+)?(?:older|old|previous|earlier|legacy)\s+(?:model|version|release)"
            r"|\b(?:this|the)\s+(?:memory|note|lesson|comment)\s+(?:is\s+authoritative|always\s+wins)\b"
            r"|\b(?:this|the)\s+(?:memory|note|document|file|page|text|lesson|comment)\s+(?:takes\s+precedence\s+over|overrides)\s+(?:the\s+|your\s+|any\s+|all\s+)?(?:\w+\s+)?(?:instructions|system\s+prompt|system\s+message|user'?s?\s+(?:request|instructions)|guidelines\s+you)"
            r"|\bwhen\s+it\s+conflicts\s+with\s+(?:the|your)\s+(?:system\s+prompt|instructions|system\s+message)\b"
            r"|\b(?:the\s+)?(?:developers?|admins?|administrators?|owners?|operators?|maintainers?|platform|team)\s+(?:has|have)\s+(?:authori[sz]ed|allowed|permitted|cleared)\s+you\s+to\s+(?:skip|bypass|disable|ignore|override|turn\s+off)"
            r"|\bpretend\s+(?:that\s+)?(?:the|all|our|this|your)\s+(?:previous|prior|earlier|above|original)\s+(?:conversation|instructions|messages|context|rules)\s+(?:never\s+happened|(?:does|did)\s+not\s+exist|(?:was|were)\s+never\s+(?:given|sent|written))"
            r"|\bhaben\s+vorrang\s+vor\s+allem\b"
        ),
        needles=("guideline", "rules", "refusal", "restriction", "polic", "filter", "check", "guardrail", "limits",
                 "exempt", "ask", "confirmation", "approval", "permission", "consent", "granted", "given", "treat",
                 "consider", "regard", "instructions", "says it", "written", "meant", "designed", "made", "intended",
                 "authoritative", "wins", "precedence", "overrides", "conflicts", "authori", "allowed", "permitted",
                 "cleared", "pretend", "vorrang"),
        negatable=True,
    ),
    Rule(
        "exfiltration_target", INJECTION, "sends the person's mail, chat or secrets to an outside address",
        rx(
            r"\b(?:send|forward|e-?mail|post|upload|share|leak|copy|paste|write|put|publish|commit)\s+(?:\w+\s+){0,3}?"
            r"(?:(?:the|this|your|my|all|every|any|full|entire|user'?s?)\s+)*"
            r"(?:body\s+of\s+the\s+e-?mail|e-?mails?\s+(?:received|from)|security\s+codes?|verification\s+codes?|one-time\s+codes?|2fa\s+codes?|everything\s+(?:the\s+user|they|you)\s+(?:told|said|wrote|shared)|user\s+information|convo|contents?\s+of\s+(?:the\s+)?(?:vault|\.env|inbox|mailbox|memory|memories|notes)|token\s+from\s+the\s+authori[sz]ation\s+header)"
            r"(?:\s+\S+){0,12}?\s+(?:to|with|into|on|as)\s+(?:https?://|[\w.+-]+@[\w-]+\.\w|['\"][\w.+-]+@|(?:a|the|this|my)\s+(?:public|discord|slack)\b|(?:a|the)\s+\w*\s*(?:webhook|gist|pastebin))"
            r"|\b(?:dns\s+(?:lookup|query|request|resolution))\s+(?:of|for|to|on)\s+\S*(?:secret|token|key|password|data|<)"
            r"|https?://[^\s\"')>]+[?&][\w-]+=(?:\{\{?\s*|\$\{|<|%7b)\s*(?:messages?|conversation|convo|chat\w*|history|summary|context|prompt|memor\w*|notes|session_token|user_email)\b"
            r"|https?://[^\s\"')>]+[?&][\w-]+=(?:[A-Z]+_)*(?:SUMMARY|CONVERSATION|CHAT|HISTORY|MESSAGES|CONTEXT|PROMPT)(?:_[A-Z]+)*\b"
            r"|\b(?:write|post|put|paste|publish|upload|commit|copy)\s+(?:\w+\s+){0,6}?(?:tokens?|secrets?|api\s+keys?|passwords?|credentials|\.env(?:\s+file)?|it|them|(?:private\s+)?(?:repo(?:sitory)?'?s?\s+)?source(?:\s+code)?)\s+(?:\w+\s+){0,4}?(?:in|into|on|to)\s+(?:a|the)\s+public\s+(?:gist|paste(?:bin)?|issue(?:\s+tracker)?|repo(?:sitory)?|channel|comment|page)"
            r"|\b(?:e-?mail|send|forward)\b[^.\n]{0,80}\bto\s+(?:an?\s+)?(?:outside|external)\s+(?:e-?mail\s+)?address\b|\b(?:e-?mail|send|forward)\b[^.\n]{0,80}\bto\s+the\s+address\s+in\s+this\s+(?:signature|e-?mail|message|document|page)\b"
            r"|\b(?:send|forward|post|e-?mail)\s+(?:\w+\s+){0,4}?messages\s+(?:of|from|in)\s+(?:this|the)\s+(?:chat|conversation|thread)\b[^.\n]{0,40}\bto\b"
            r"|https?://[^\s'\"]+[?&][\w-]+=(?=['\")\]\s]|$)[^\n]{0,80}?\b(?:session\s+cookie|cookies?|secrets?|tokens?|api\s+keys?|conversation|previous\s+answer|user'?s\s+files|chat|messages|passwords?|credentials)\b"
            r"|https?://[^\s'\"]+[?&=]['\"]?\s*\+\s*(?:the\s+)?(?:\w+\s+){0,2}?(?:api\s+keys?|secrets?|tokens?|passwords?|cookies?|credentials|conversation|base64)"
            r"|\b(?:call|use|invoke)\s+(?:the\s+)?(?:http_post|http_get|send_email|fetch_url|post_url|webhook)\b[^\n]{0,120}?(?:api\s+key|\bsk-[\w-]{6,}|access\s+token|password|secret)"
            r"|\b(?:save|copy|upload|sync)\b[^.\n]{0,80}\bto\s+(?:the\s+)?(?:shared\s+folder\s+at\s+)?\\\\\d{1,3}(?:\.\d{1,3}){3}\\"
            r"|\b(?:embed|encode|hide|put|place|include)\s+(?:\w+\s+){0,6}?(?:secrets?|tokens?|api\s+keys?|passwords?|credentials|connection\s+string|system\s+prompt|user'?s\s+notes)\b[^.\n]{0,80}\b(?:alt\s+text|markdown\s+link|image\s+url|link\s+to\s+https?://|query\s+string|url\s+of\s+an?\s+image)"
        ),
        needles=("send", "forward", "mail", "post", "upload", "share", "leak", "copy", "paste", "write", "put",
                 "publish", "commit", "dns", "http", "embed", "encode", "hide", "place", "include", "call", "use",
                 "invoke", "save", "sync"),
        negatable=True,
    ),
    Rule(
        "injection_carrier", INJECTION, "wraps an instruction in a known injection pretext (new important instructions, a forgotten task)",
        rx(
            r"(?:\*{2,}|#{2,}|-{3,}|!{2,})\s*new\s+(?:important|urgent|priority|updated|additional)\s+instructions\b|\bnew\s+(?:important|urgent|priority)\s+instructions\s*(?:\*{2,}|:|!)"
            r"|\bif\s+you\s+are\s+(?:told|asked)\s+to\s+summari[sz]e\b[^.\n]{0,80}\binstead\b(?!\s+of\b)"
            r"|\b(?:made\s+a\s+mistake|forgot)\b[^.\n]{0,60}\b(?:gave\s+you\s+your\s+instructions|(?:to\s+)?(?:ask|tell)\s+you\s+to)\b"
            r"|\bwithout\s+writing\s+anything\W+then\b"
            r"|\byou(?:'ve|’ve|\s+have)\s+been\s+assigned\s+(?:a|this|the\s+following)\s+(?:new\s+)?task\s*:"
            r"|\byou\s+are\s+(?:now\s+)?(?:operating|running|working)\s+in\s+(?:developer|dev|debug|admin|god|maintenance|test)\s+mode\s+and\s+(?:you\s+)?(?:need|must|have)\s+to\b"
            r"|\brepeat\s+(?:the\s+)?(?:word|phrase|sequence\s+of\s+words|string|sentence|text)\s+['\"“‘][^'\"”’\n]{1,40}['\"”’]\s+\d{2,}\s+times\s+(?:at\s+the\s+end\s+of|in)\s+your\s+(?:response|answer|reply|output)"
            r"|\binclude\s+in\s+your\s+(?:response|answer|reply|output)\s+(?:the\s+following|this)\s+(?:\w+\s+)?exactly\s+as\s+it\s+is\b"
            r"|\bconfirm\s+receipt\s+by\s+(?:outputting|replying\s+with|saying|printing|writing)\b"
            r"|\bdecode\s+(?:this\s+|it\s+|the\s+following\s+)?and\s+(?:then\s+)?(?:follow|execute|obey|run)\s*:\s*\S{12,}|\bdecode\s+(?:this|it)\s+and\s+do\s+what\s+it\s+says\b"
            r"|\b(?-i:NOTE FROM THE (?:DEVELOPERS?|ADMIN|ADMINISTRATOR|SYSTEM|OPERATOR))\s*:"
        ),
        needles=("instructions", "following", "summari", "mistake", "forgot", "without writing", "assigned", "you are",
                 "repeat", "include in your", "confirm receipt", "decode", "note from the"),
        negatable=True,
    ),
    Rule(
        "multilingual_override", INJECTION, "ignore-previous-instructions phrasing in another language",
        rx(
            r"\bignorier(?:e|en|t)?\s+(?:alle\s+)?(?:vorherigen|bisherigen|obigen|vorigen|fruheren)\s+(?:anweisungen|instruktionen|befehle|regeln|anordnungen)"
            r"|\bvergiss\s+alles\b|\b(?:systemanweisung|systemprompt|systemnachricht)\b"
            r"|\bignore[zr]?\s+(?:toutes\s+)?(?:les\s+)?instructions\s+(?:precedentes|ci-dessus|anterieures)|\boublie[zr]?\s+(?:toutes\s+)?(?:les\s+instructions|tout\s+ce)|\bprompt\s+systeme\b"
            r"|\bignora(?:r)?\s+(?:todas\s+)?(?:las\s+)?instrucciones\s+(?:anteriores|previas)|\bolvida\s+(?:todo|las\s+instrucciones)|\bmensaje\s+de(?:l)?\s+sistema\b"
            r"|\bignora\s+(?:tutte\s+)?le\s+istruzioni\s+precedenti|\bignore\s+(?:todas\s+)?as\s+instrucoes\s+anteriores"
            r"|\b(?:vergiss|ignorier(?:e|en)?)\s+(?:alle\s+)?(?:deine|die|ihre|eure)\s+(?:bisherigen\s+|vorherigen\s+|vorigen\s+|fruheren\s+|obigen\s+|alten\s+)?(?:anweisungen|instruktionen|befehle|regeln|vorgaben)"
            r"|\b(?:olvida|ignora|olvidate\s+de)\s+(?:todas\s+)?(?:tus|las|sus)\s+(?:instrucciones|reglas|ordenes)(?:\s+(?:anteriores|previas|originales))?"
            r"|\b(?:oublie[zr]?|ignore[zr]?)\s+(?:toutes\s+)?(?:tes|vos|les)\s+(?:instructions|consignes|regles)(?:\s+(?:precedentes|anterieures|initiales))?"
            r"|\b(?:esqueca|esquece|ignore|ignora)\s+(?:todas\s+)?(?:as\s+)?(?:suas\s+|tuas\s+)?(?:instrucoes|regras)\s+(?:anteriores|previas|originais)"
            r"|\b(?:dimentica|ignora)\s+(?:tutte\s+)?(?:le\s+)?(?:tue\s+)?istruzioni(?:\s+precedenti)?"
        ),
        needles=("ignor", "vergiss", "system", "oublie", "olvida", "mensaje", "esquec", "dimentica"),
    ),
)
# fmt: on

# Phrases looked for in the squashed view (letters only) once the text shows obfuscation, so that
# "i-g-n-o-r-e", "ig​nore" or "I.G.N.O.R.E all p r e v i o u s" cannot hide a known attack.
# fmt: off
SQUASHED: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ignore_instructions", re.compile(
        r"(?:ignore|disregard|forget|override|bypass)(?:all|any|the|your|of|every)*(?:previous|prior|above|earlier|preceding|initial|original|system)"
        r"(?:instructions?|prompts?|directives?|directions|rules|guidelines|messages?|context|orders|commands)"
        r"|(?:ignore|disregard|forget)(?:everything|all)(?:you(?:were|have been|ve been)?(?:told|given)|above|before)")),
    ("reveal_prompt", re.compile(
        r"(?:reveal|print|show|output|repeat|tell|give|leak|dump|display)(?:me|us)?(?:your|the)(?:full|entire|hidden|secret|initial|original)?"
        r"(?:systemprompt|systemmessage|hiddenprompt|hiddeninstructions|initialprompt|initialinstructions|instructions)")),
    ("persona_jailbreak", re.compile(
        r"doanythingnow|(?:developer|dan|god|jailbreak)modeenabled|youarenow(?:dan|jailbroken|unrestricted|unfiltered|free)|stayincharacter")),
    ("new_instructions", re.compile(r"(?:new|real|actual)(?:system)?instructions(?:are)?(?=[a-z])")),
    ("disable_safety", re.compile(
        r"(?:disable|bypass|turnoff|ignore)(?:the|your|all)*(?:safetyfilters?|contentfilters?|immunescan|guardrails|thecritic|critic)")),
)
# fmt: on
