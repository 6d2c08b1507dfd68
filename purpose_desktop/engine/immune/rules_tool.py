"""Tool-misuse rules: destructive commands, exfiltration, credential access, sandbox escape, persistence, shells."""

from __future__ import annotations

import re

from .detectors import LANGUAGE_VIEWS, LITERAL_VIEWS, TOOL, Rule, clause_after, family, rx

# Targets whose recursive deletion or permission change wrecks a machine rather than a project folder.
_ROOT_TARGET = (
    r"(?:/|/\*|~|~/|~/\*|\$HOME\"?/?\*?|\$\{HOME(?::?[?-][^}]*)?\}\"?/?\*?|\*|\./\*|\.\*|\.\./?\*?|"
    r"/(?:home|etc|usr|var|boot|bin|sbin|lib|lib64|opt|root|srv|sys|proc|dev|System|Users|Applications|Library)/?\*?|"
    r"[A-Za-z]:\\?)(?=\s|$|[\"';&|)`\]])"
)
_QUOTE = r"[\"']?"
_CMD = r"\b"  # start of a command word
_SENSITIVE = (
    r"(?:(?:~|\$HOME|\$\{HOME\}|\$env:USERPROFILE|%USERPROFILE%|/root|/home/[\w.-]+)[/\\]\.(?:ssh\b(?![/\\][\w.-]+\.pub\b|[/\\](?:config|known_hosts|authorized_keys)\b)"
    r"|aws|gnupg|kube|docker|netrc|git-credentials|pypirc|npmrc|config[/\\]gcloud|password-store|bash_history|zsh_history)\b"
    r"|/etc/(?:shadow|sudoers|gshadow)|\.ssh\W{0,6}id_(?:rsa|dsa|ecdsa|ed25519)\b(?!\.pub)|\bid_(?:rsa|dsa|ecdsa|ed25519)\b(?!\.pub)"
    r"|\.aws[/\\]+credentials|(?<![\w.])\.netrc\b|\.git-credentials\b|Login\s+Data|(?:chrome|chromium|firefox|mozilla|brave|edge)\S*[/\\]\S*(?:Cookies|cookies\.sqlite|logins\.json|key[34]\.db)"
    r"|Library/Keychains|login\.keychain)"
)
_SENSITIVE_RX = re.compile(_SENSITIVE, re.IGNORECASE)
_EXFIL_SOURCE = re.compile(
    _SENSITIVE
    + r"|/etc/passwd|(?<![\w.])\.env\b|\bprintenv\b|(?:^|[\s;&(])env\s*\||\$\(\s*(?:env|printenv|cat|whoami|id|hostname|base64|uname)\b"
    r"|`\s*(?:env|printenv|cat|whoami|id)\b|\bos\.environ\b|process\.env\b|\bcreds?\.txt\b|\bcredentials\b",
    re.IGNORECASE,
)
_REMOTE = re.compile(
    r"https?://|ftp://|s3://|gs://|\b\d{1,3}(?:\.\d{1,3}){3}\b|[\w.-]+@[\w.-]+:|\$\(|\.(?:com|net|org|io|site|example|xyz|ru|cn)\b|\bwebhook\b",
    re.IGNORECASE,
)
_PERSIST_PAYLOAD = re.compile(
    r"\b(?:curl|wget|nc|ncat|nohup|base64|python[23]?|perl|ruby|sh\s+-c|bash\s+-c|/dev/tcp)\b|https?://|&\s*[\"']|alias\s+(?:sudo|ls|cd|git|ssh|su)=",
    re.IGNORECASE,
)


def _line(text: str, start: int, end: int) -> str:
    lo = text.rfind("\n", 0, start) + 1
    hi = text.find("\n", end)
    return text[lo : hi if hi >= 0 else len(text)]


def _exfil_ok(m: re.Match[str], text: str) -> bool:
    line = _line(text, m.start(), m.end())
    return _EXFIL_SOURCE.search(line) is not None and _REMOTE.search(line) is not None


def _persist_payload(m: re.Match[str], text: str) -> bool:
    return _PERSIST_PAYLOAD.search(_line(text, m.start(), m.end())) is not None


def _theft_ok(m: re.Match[str], text: str) -> bool:
    found = m.group(0).lower()
    if found.startswith(("send it", "upload it", "post it", "forward it", "exfiltrate it")):
        return _SENSITIVE_RX.search(_line(text, m.start(), m.end())) is not None
    if found.startswith(
        ("upload", "send", "post", "share", "email", "e-mail", "sync", "back up", "exfiltrate")
    ):
        return True
    if re.search(r"(?:~|\$home)/\.", found):
        # Reading a credential file is how tools work; it is theft when it is someone else's or it leaves.
        rest = clause_after(text, m.end(), 120)
        return (
            re.search(r"user'?s?|their", found) is not None
            or re.search(
                r"\b(?:send|upload|post|include|paste|commit|email|print|share|attach|forward|copy)\b", rest
            )
            is not None
        )
    return True


def _reboot_payload(m: re.Match[str], text: str) -> bool:
    return (
        re.search(
            r"\b(?:curl|wget|nc|http|download|/tmp|\.sh\b|python|payload|agent)",
            clause_after(text, m.end(), 160) + _line(text, m.start(), m.end()),
            re.IGNORECASE,
        )
        is not None
    )



# Advice about SQL injection quotes payloads to warn against them; a payload on its own does not explain itself.
_SQLI_TALK = re.compile(
    r"\b(?:sql[\s-]+injection|injection\s+(?:attacks?|payloads?)|payloads?\s+(?:such\s+as|like)|such\s+as|a\s+value\s+like|for\s+example|e\.g\.|"
    r"example\s+of|parameteri[sz]ed|prepared\s+statements?|placeholders?|bound\s+parameters|never\s+(?:build|format|concatenate|interpolate)|sanitiz|escap(?:e|ing))",
    re.IGNORECASE,
)

_XSS_TALK = re.compile(
    r"\b(?:xss|cross[\s-]+site|sanitiz|escap(?:e|ed|ing)|such\s+as|for\s+example|e\.g\.|example\s+of|a\s+payload\s+like|"
    r"dompurify|bleach|never\s+render|content[\s-]+security[\s-]+policy)",
    re.IGNORECASE,
)


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence (or line) around ``text[start:end]``, case kept: account numbers and IBANs need it."""
    lo = max(text.rfind(". ", 0, start), text.rfind("\n", 0, start)) + 1
    hi_dot, hi_nl = text.find(". ", end), text.find("\n", end)
    hi = min(x for x in (hi_dot, hi_nl, len(text)) if x >= 0)
    return text[lo:hi]


# Where money would go: an IBAN, a long account number, a crypto address, an account id.
_ACCOUNT = re.compile(
    r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b|\b[A-Z]{2}\d{12,32}\b|\b0x[0-9a-fA-F]{40}\b"
    r"|\bbc1[ac-hj-np-z02-9]{25,62}\b|\b[13][a-km-zA-HJ-NP-Z1-9]{25,34}\b|\b\d{2,6}[- ]\d{3,6}[- ]\d{2,8}\b|\b(?:acct|account|iban)[-_#:]\s?[\w-]{4,}"
    r"|\b\d{8,}\b"
)


_ALL_THE_MONEY = re.compile(
    r"as\s+much\s+(?:money\s+)?as\s+possible|(?:the\s+)?(?:full|entire|whole)\s+balance|all\s+(?:the\s+)?(?:money|funds)",
    re.IGNORECASE,
)


def _account_in_sentence(m: re.Match[str], text: str) -> bool:
    sentence = _sentence(text, m.start(), m.end())
    return _ACCOUNT.search(sentence) is not None or _ALL_THE_MONEY.search(sentence) is not None

# fmt: off
RULES: tuple[Rule, ...] = (
    *family(
        "destructive_delete", TOOL, "recursively deletes the root, home or every file",
        [
            ("rm", r"\brm\s+(?:-[a-zA-Z]+\s+|--[a-z-]+\s+)*(?:-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)(?:\s+-[a-zA-Z]+|\s+--[a-z-]+)*\s+(?:--\s+)?(?:[^\s;&|]+\s+)*?" + _QUOTE + _ROOT_TARGET
             + r"|\[\s*['\"]rm['\"]\s*,\s*['\"]-[a-zA-Z]*r[a-zA-Z]*['\"]\s*,\s*(?:['\"][^'\"]*['\"]\s*,\s*)*['\"](?:/|~|/\*|\*|~/|/home|/etc|/usr)['\"]"),
            ("no-preserve-root", r"--no-preserve-root\b"),
            ("rmtree", r"\bshutil\.rmtree\(\s*(?:['\"](?:/|~|~/|/home|/etc|/usr|[A-Za-z]:\\\\?)['\"]|os\.path\.expanduser\(\s*['\"]~/?['\"]\s*\)|(?:pathlib\.)?Path\.home\(\)|os\.environ\[['\"]HOME['\"]\]|os\.getenv\(['\"]HOME['\"]\))\s*[,)]"),
            ("rd |del |format", r"\brd\s+/s\s+/q\s+[A-Za-z]:\\?(?=\s|$|[\"'])|\bdel\s+(?:/[fsqa]\s+)+[A-Za-z]:\\(?:Windows|\*|\s|$)|" + _CMD + r"format\s+[A-Za-z]:(?=\s*(?:$|[\"'`;&|]|/[qyfsxQYFSX]\b))"),
            ("remove-item",
             r"\bGet-ChildItem\s+(?:-Path\s+)?(?:[A-Za-z]:\\?|~|\$HOME|\$env:USERPROFILE)(?=\s)[^\n|]*\|\s*Remove-Item\b"
             r"|\bRemove-Item\s+(?:-\w+\s+)*?(?:-Recurse|-r)\b[^\n]*?\s(?:[A-Za-z]:\\(?:\*|Users\\?\*?|Windows\\?)?|~|\$env:USERPROFILE|\$HOME)(?=\s|$|[\"'])"),
            ("find", r"\bfind\s+(?:/|~|\$HOME|/home|/etc|/usr)\s+[^\n;|]*?(?:-delete\b|-exec\s+rm\b)"),
            ("mv ", r"\bmv\s+(?:~|/|\$HOME|/\*|~/\*)\s+/dev/null\b"),
            ("git clean", r"\bgit\s+clean\s+-\w*[fd]\w*\s+(?:~|/|\$HOME)(?=\s|$|[`'\"])"),
        ],
        views=LITERAL_VIEWS,
    ),
    Rule(
        "disk_wipe", TOOL, "overwrites or formats a disk device",
        rx(
            r"\bmkfs(?:\.\w+)?\s+(?:-\S+\s+)*/dev/|\bwipefs\s+(?:-\S+\s+)*/dev/"
            r"|\bshred\s+[^\n;|]*?/dev/(?:sd|nvme|hd|disk|mmcblk|xvd|vd)|\bdd\s+[^\n;|]*?\bof=/dev/(?:sd|nvme|hd|disk|mmcblk|xvd|vd|rdisk)"
            r"|>\s*/dev/(?:sd[a-z]|nvme\d|hd[a-z]|disk\d|mmcblk\d)"
        ),
        needles=("mkfs", "wipefs", "shred", "dd ", "/dev/"),
        views=LITERAL_VIEWS,
    ),
    Rule(
        "fork_bomb", TOOL, "contains a fork bomb",
        rx(
            r":\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:|\b(\w+)\s*\(\s*\)\s*\{\s*\1\s*\|\s*\1\s*&\s*\}\s*;\s*\1\b"
            r"|\bfork\s+while\s+fork\b|\bwhile\s*\(?\s*(?:1|true|True)\s*\)?\s*[:{]?\s*(?:os\.)?fork\s*\(\s*\)"
        ),
        needles=("&", "fork"),
        views=LITERAL_VIEWS,
    ),
    Rule(
        "permission_wreck", TOOL, "opens up or hands away permissions on system paths",
        rx(
            r"\b(?:chmod|chown|chgrp)\s+(?:-[a-zA-Z]+\s+)*(?:-R\s+|--recursive\s+)(?:-[a-zA-Z]+\s+)*\S+\s+" + _QUOTE + r"(?:/|~|\$HOME|/etc|/usr|/var|/home|/bin|/boot)(?=\s|$|[\"';&|])"
            r"|\bchmod\s+(?:-R\s+)?(?:0?777|a\+rwx|ugo\+rwx|0?666)\s+" + _QUOTE + r"(?:/|/etc\S*|/usr\S*|/bin\S*|~|\$HOME)(?=\s|$|[\"';&|])"
            r"|\bchmod\s+(?:[ugoa]*\+s|[2467][0-7]{3})\s+(?:/bin|/usr/bin|/usr/local/bin|/sbin)/\S+"
            r"|\bNOPASSWD\s*:\s*ALL\b"
        ),
        needles=("chmod", "chown", "chgrp", "nopasswd"),
        views=LITERAL_VIEWS,
    ),
    Rule(
        "shutdown", TOOL, "shuts down, reboots or kills everything",
        rx(
            _CMD + r"(?:sudo\s+|doas\s+)?(?:shutdown\s+(?:-[hrPfHc]\b|now\b|\+\d|-t\s+\d|/[srp]\b)|poweroff\b|halt(?=\s*(?:$|[;&|`'\")]))|init\s+[06]\b|systemctl\s+(?:poweroff|halt|reboot|kexec)\b"
            r"|reboot(?:\s+(?:now|-f))?(?=\s*(?:$|[;&|`'\")])))"
            r"|\bkill\s+-(?:9|KILL|SIGKILL)\s+-1\b|\bStop-Computer\b|\bRestart-Computer\s+-Force\b"
        ),
        needles=("shutdown", "poweroff", "halt", "init", "systemctl", "reboot", "kill", "stop-computer", "restart-computer"),
        views=LITERAL_VIEWS,
    ),
    Rule(
        "exfiltration_cmd", TOOL, "sends credentials, environment or system files to a remote host",
        rx(
            r"\b(?:curl|wget|nc|ncat|netcat|socat|scp|rsync|sftp|ftp|nslookup|dig|host|ping|aws\s+s3\s+(?:cp|sync|mv)|gsutil\s+cp|rclone\s+(?:copy|sync)"
            r"|Invoke-WebRequest|Invoke-RestMethod|iwr|irm|requests\.(?:post|put|get)|httpx\.(?:post|put|get)|urllib\.request\.urlopen|fetch)\b"
        ),
        needles=("curl", "wget", "nc", "ncat", "netcat", "socat", "scp", "rsync", "sftp", "ftp", "nslookup", "dig",
                 "host", "ping", "s3", "gsutil", "rclone", "invoke-", "iwr", "irm", "requests.", "httpx.", "urlopen",
                 "fetch"),
        views=LITERAL_VIEWS,
        check=_exfil_ok,
    ),
    *family(
        "pipe_to_shell", TOOL, "runs code downloaded from the internet without reading it",
        [
            ("curl|wget|fetch|iwr|irm|invoke-",
             r"\b(?:curl|wget|fetch|iwr|irm|Invoke-WebRequest|Invoke-RestMethod)\b[^\n|;]*?(?:https?://|ftp://|\d{1,3}(?:\.\d{1,3}){3})[^\n|;]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?"
             r"(?:(?:ba|z|da|k|fi)?sh|python[23]?|perl|ruby|node|php|iex|Invoke-Expression|pwsh|powershell)\b(?!\s+(?:-m\b|[\w./-]+\.(?:py|js|rb|pl)\b))"
             r"|\b(?:(?:ba|z)?sh|source|\.)\s+<\(\s*(?:curl|wget)\b|\b(?:(?:ba|z)?sh|python[23]?)\s+-c\s+[\"']?\$\(\s*(?:curl|wget)\b|\beval\s+[\"']?\$\(\s*(?:curl|wget)\b"),
            ("iex|invoke-expression|downloadstring",
             r"\b(?:IEX|Invoke-Expression)\s*\(?\s*\(?\s*(?:New-Object\s+(?:System\.)?Net\.WebClient|iwr|irm|Invoke-WebRequest|Invoke-RestMethod)|\.DownloadString\s*\("),
            ("powershell|pwsh|certutil|bitsadmin|mshta|regsvr32",
             r"\b(?:powershell|pwsh)(?:\.exe)?\b[^\n]*\s-(?:e|ec|enc|encodedcommand)\s+[A-Za-z0-9+/=]{20,}"
             r"|\bcertutil(?:\.exe)?\s+[^\n]*-urlcache\b[^\n]*https?://|\bbitsadmin(?:\.exe)?\s+/transfer\b|\bmshta(?:\.exe)?\s+https?://|\bregsvr32\b[^\n]*/i:https?://"),
            ("base64", r"\bbase64\s+(?:-d|--decode|-D)\b[^\n;]*\|\s*(?:sudo\s+)?(?:(?:ba|z|da)?sh|python[23]?)\b"),
            ("exec|eval|compile",
             r"\b(?:exec|eval|compile)\s*\(\s*(?:compile\s*\(\s*)?(?:requests\.get|httpx\.get|urllib\.request\.urlopen|urlopen|urllib2\.urlopen|(?:await\s+)?\(?\s*(?:await\s+)?fetch|http\.get|base64\.b64decode|b64decode|zlib\.decompress|codecs\.decode|bytes\.fromhex|marshal\.loads)"),
            ("function|pickle", r"\bnew\s+Function\s*\(\s*await\b|\bpickle\.loads?\s*\(\s*(?:requests|urlopen|urllib)"),
        ],
        views=LITERAL_VIEWS,
    ),
    Rule(
        "credential_access", TOOL, "reads or copies SSH keys, cloud credentials, browser or keychain secrets",
        rx(
            r"\b(?:cat|less|more|head|tail|cp|mv|scp|rsync|base64|xxd|od|strings|tar|zip|7z|gpg|type|Get-Content|gc|sqlite3|open|read_text|read_bytes|copyfile|copy2?)\b[^\n;|]{0,60}?" + _SENSITIVE
            + r"|\bsecurity\s+(?:dump-keychain|find-(?:generic|internet)-password\b[^\n]*\s-w|export\s+-k)"
        ),
        needles=("ssh", "aws", "gnupg", "kube", "docker", "netrc", "credentials", "pypirc", "npmrc", "gcloud", "password-store",
                 "history", "shadow", "sudoers", "id_", "login data", "cookies", "logins.json", "key3", "key4", "keychain", "security"),
        views=LITERAL_VIEWS,
        check=lambda m, text: m.group(0).lower().startswith("security") or _SENSITIVE_RX.search(m.group(0)) is not None,
    ),
    Rule(
        "credential_theft_ask", TOOL, "asks to collect the user's keys, saved passwords or cookies",
        rx(
            r"\b(?:copy|steal|grab|dump|exfiltrate|upload|send|collect|harvest|extract|print|back\s+up|read)\s+(?:\w+\s+){0,3}?(?:the\s+)?(?:user'?s?\s+|browser'?s?\s+|chrome'?s?\s+)?"
            r"(?:ssh\s+private\s+keys?|private\s+ssh\s+keys?|saved\s+passwords?|browser\s+(?:cookies|passwords|credentials)|login\s+data|keychain|aws\s+credentials|password\s+store|crypto\s+wallets?|session\s+cookies|~/\.ssh\b)"
            r"|\b(?:send|upload|post|forward|exfiltrate)\s+it\s+to\s+(?:the\s+|my\s+|a\s+)?(?:webhook|server|url|endpoint|attacker)"
            r"|\b(?:read|open|load|cat|copy|print|dump|grab|collect|upload|send|post|share|e-?mail|sync|back\s+up|exfiltrate)\s+(?:\w+\s+){0,2}?(?:the\s+)?(?:user'?s?\s+|their\s+)?(?:~|\$HOME)/\.(?:ssh(?![/\\][\w.-]+\.pub\b|[/\\](?:config|known_hosts|authorized_keys)\b)|aws|gnupg|netrc|git-credentials|docker|kube)\S*"
        ),
        needles=("private key", "ssh", "password", "cookies", "credentials", "login data", "keychain", "wallet", "send it",
                 "upload it", "post it", "forward it", "exfiltrate it"),
        check=lambda m, text: _theft_ok(m, text),
        negatable=True,
    ),
    Rule(
        "sandbox_escape", TOOL, "disables or escapes the sandbox",
        rx(
            r"\b(?:disable|disabling|turn\s+off|bypass|escape|break\s+out\s+of|get\s+out\s+of|circumvent|evade|remove|deactivate|skip|avoid|run\s+(?:it\s+|this\s+|code\s+|the\s+(?:tool|code|command)\s+|commands?\s+)?outside(?:\s+of)?)\s+"
            r"(?:the\s+|your\s+|its\s+|this\s+)?(?:sandbox(?:ing)?|seccomp|apparmor|selinux|firejail|bubblewrap|container\s+isolation|jail)\b"
            r"|\bsetenforce\s+0\b|\bsystemctl\s+(?:stop|disable|mask)\s+(?:apparmor|selinux|auditd)\b|--security-opt\s+(?:seccomp|apparmor)[=:]unconfined"
            r"|\bdocker\s+run\b[^\n]*?(?:-v\s+/:/\S*[^\n]*?(?:chroot|nsenter|--privileged)|--privileged[^\n]*?-v\s+/:/)|\bnsenter\s+(?:-\S+\s+)*-t\s+1\b"
        ),
        needles=("sandbox", "seccomp", "apparmor", "selinux", "firejail", "bubblewrap", "isolation", "jail", "setenforce",
                 "privileged", "nsenter"),
        negatable=True,
    ),
    Rule(
        "persistence", TOOL, "installs something that survives a restart (cron, shell rc, autostart, services)",
        rx(
            r"\|\s*crontab\s+-(?=\s|$|[\"'`)])|\bcrontab\s+-r\b"
            r"|>>\s*" + _QUOTE + r"(?:~|\$HOME)/\.(?:bashrc|zshrc|profile|bash_profile|zprofile|bash_login|config/fish/config\.fish)\b"
            r"|(?:>>|\btee\s+-a)\s*" + _QUOTE + r"\S*\.ssh/authorized_keys\b"
            r"|\b(?:cp|mv|ln|tee|cat\s*>|echo|write|create|install|add|put|drop)\b[^\n]*?(?:~|\$HOME)/(?:\.config/(?:autostart|systemd/user)|Library/LaunchAgents)/"
            r"|(?:>>?|\btee(?:\s+-a)?|\bcp\b[^\n]*?)\s*/etc/(?:rc\.local|init\.d/|cron\.d/|crontab|systemd/system/|profile\.d/)"
            r"|\breg\s+add\s+\S*\\(?:CurrentVersion\\Run(?:Once)?|Winlogon)\b|\bschtasks\s+/create\b|\b(?:New|Register)-ScheduledTask\b"
            r"|@reboot\b"
        ),
        needles=("crontab", ">>", "tee", "authorized_keys", "autostart", "systemd", "launchagents", "/etc/", "reg ", "schtasks",
                 "scheduledtask", "@reboot"),
        views=LITERAL_VIEWS,
        check=lambda m, text: (
            _persist_payload(m, text) if re.search(r"\.(?:bashrc|zshrc|profile|bash_profile|zprofile|bash_login|fish)\b", m.group(0))
            else _reboot_payload(m, text) if m.group(0).startswith("@reboot") else True
        ),
    ),
    *family(
        "reverse_shell", TOOL, "opens a reverse shell to a remote host",
        [
            ("/dev/tcp|/dev/udp", r"/dev/(?:tcp|udp)/[\w.-]+/\d+"),
            ("nc|netcat", r"\b(?:nc|ncat|netcat)\b[^\n|;]*\s-(?:e|c)\s+/?\S*(?:sh|bash|cmd(?:\.exe)?|powershell)\b"),
            ("mkfifo|socat|s_client",
             r"\bmkfifo\s+\S+\s*;[^\n]*\b(?:nc|ncat|netcat|telnet|openssl\s+s_client)\b|\bsocat\b[^\n]*\bexec:[^\n]*(?:sh|bash)|\bs_client\b[^\n]*\|\s*/?(?:bin/)?(?:ba)?sh\b"),
            ("socket|pty.spawn",
             r"socket\.socket\([^\n]{0,300}?connect\([^\n]{0,300}?(?:pty\.spawn|os\.dup2|subprocess\.(?:call|Popen|run)\(\s*\[?['\"]/bin/(?:ba)?sh)"
             r"|\bpty\.spawn\(\s*['\"]/bin/(?:ba|z)?sh['\"]\s*\)|\buse\s+Socket\b[^\n]*\bconnect\([^\n]*\bexec\b"),
            ("fsockopen|tcpsocket|tcpclient|xterm",
             r"\bfsockopen\s*\([^\n]*\b(?:exec|shell_exec|system|proc_open|passthru)\s*\(|\bTCPSocket\.new\([^\n]*\b(?:exec|spawn|system)\b"
             r"|New-Object\s+(?:System\.)?Net\.Sockets\.TCPClient|\bxterm\s+-display\s+\d{1,3}(?:\.\d{1,3}){3}:\d"),
        ],
        views=LITERAL_VIEWS,
    ),
    *family(
        "sql_injection", TOOL, "carries an SQL-injection payload (a closed quote, then SQL that changes the query)",
        [
            ("'|\"",
             r"['\"]\s*\)*\s*;\s*(?:drop|truncate|delete|insert|update|exec|execute|shutdown|declare|waitfor|alter|grant)\b"
             r"|['\"]\s*\)*\s+(?:or|and|\|\|)\s+(?:\d+\s*=\s*\d+|['\"][^'\"\n]{0,12}['\"]\s*=\s*['\"]|true\b|sleep\s*\(|if\s*\(|substring\s*\(|benchmark\s*\()"
             r"|['\"]\s*\)*\s+union\s+(?:all\s+)?select\b|\b\w+['\"](?:--|/\*)(?=\s|$)"),
            ("union", r"\bunion\s+(?:all\s+)?select\b[^\n]{0,80}\bfrom\s+(?:users|accounts|passwords|credentials|information_schema|mysql\.user|pg_shadow|sysobjects)\b"),
            ("xp_cmdshell", r"\bxp_cmdshell\b"),
            ("or ", r"\bor\s+1\s*=\s*1\s*(?:;|--|#|/\*)|\b\d+\s+or\s+1\s*=\s*1\b"),
            ("update", r"\bupdate\s+users\s+set\s+(?:is_)?(?:admin|role|superuser|is_superuser|is_staff|privileges?)\s*="),
            ("' |\" ", r"(?:^|[\s:=])['\"]\s+(?:drop|truncate|delete|insert|shutdown)\s+(?:table|database|into|from)?"),
            ("waitfor", r"\bwaitfor\s+delay\s+['\"]"),
        ],
        views=LITERAL_VIEWS,
        check=lambda m, text: _SQLI_TALK.search(_sentence(text, m.start(), m.end())) is None,
    ),
    *family(
        "code_exec_payload", TOOL, "carries a code-execution payload (a shell from Python, a planted file)",
        [
            ("__import__",
             r"__import__\(\s*['\"](?:os|subprocess|pty|socket|shutil|ctypes)['\"]\s*\)\s*\.\s*(?:system|popen|run|call|Popen|check_output|spawn|rmtree|exec\w*|getoutput)\b"),
            ("os.system|os.popen",
             r"\bos\.(?:system|popen)\(\s*r?['\"][^'\"\n]*(?:\bcurl\b[^'\"\n]*\|\s*(?:ba)?sh|\bwget\b|\bnc\s|rm\s+-rf|/tmp/|chmod\s+\+x)"),
            ("$(|`", r"\$\(\s*(?:touch|rm|nc)\s+[^)\n]*\)|`\s*(?:touch|nc)\s+/tmp/[^`\n]*`"),
            ("system|exec|popen|spawn|shell_exec|passthru",
             r"\b(?:system|exec|popen|spawn|shell_exec|passthru)\s*\(?\s*[\"'](?:ls\s+-\w+\s+/[\"']|touch\s+/tmp/|cat\s+/etc/(?:passwd|shadow))"),
            ("; |&& || ", r"(?:^|[\s:=])(?:;|&&|\|\|)\s*cat\s+/etc/(?:passwd|shadow)\b"),
            ("curl|wget",
             r"\b(?:curl|wget)\b[^\n]*https?://\d{1,3}(?:\.\d{1,3}){3}\S*[^\n]*?(?:&&|;)\s*chmod\s+\+?[0-7]*x?\s+\S+[^\n]*?(?:&&|;)\s*(?:\./|/|sh\s|bash\s)"),
            ("169.254|metadata.google",
             r"\b169\.254\.169\.254/\S*(?:iam|security-credentials|identity|token)|\bmetadata\.google\.internal/\S*(?:token|service-accounts)"),
        ],
        views=LITERAL_VIEWS,
    ),
    Rule(
        "reverse_shell_ask", TOOL, "asks to open a reverse shell or a backdoor to a remote host",
        rx(r"\b(?:open|start|spawn|establish|create|set\s+up|launch|give\s+me)\s+(?:a\s+|an\s+)?(?:reverse|bind)\s+shell\b"),
        needles=("shell",),
        negatable=True,
    ),
    Rule(
        "money_transfer", TOOL, "orders a payment or transfer to an account (an IBAN, account number, wallet)",
        rx(
            r"\b(?:transfer|send|wire|pay|move|refund|remit|deposit|route)\b[^.\n]{0,80}?\bto\s+(?:the\s+|this\s+|my\s+|our\s+|a\s+|an\s+|new\s+)*"
            r"(?:(?:\w+\s+){0,2}(?:account|iban|wallet|address|recipient|payee)\b|[A-Z]{2}\d{2}|0x[0-9a-fA-F]{6}|bc1[a-z0-9]{6}|\d{2,6}[- ]\d{3,})"
            r"|\b(?:modify|change|update|set|replace)\s+(?:the\s+)?(?:\w+\s+){0,3}?(?:recipient|payee|beneficiary|payout\s+address|iban|bank\s+details|account\s+number|wallet\s+address)\b[^.\n]{0,80}?\bto\b"
            r"|\b(?:buy|purchase|order)\b[^.\n]{0,40}\bgift\s+cards?\b"
            r"|\b(?:send_money|transfer_funds|make_payment|wire_transfer|send_payment)\b"
        ),
        needles=("transfer", "send", "wire", "pay", "move", "refund", "remit", "deposit", "route", "modify", "change",
                 "update", "set", "replace", "buy", "purchase", "order"),
        check=lambda m, text: _account_in_sentence(m, text) or "gift" in m.group(0).lower(),
        negatable=True,
    ),
    Rule(
        "defence_off", TOOL, "turns off the firewall or the antivirus, or plants a login key",
        rx(
            r"\bufw\s+disable\b|\biptables\s+(?:-F|--flush)\b|\bsystemctl\s+(?:stop|disable|mask)\s+(?:firewalld|ufw|iptables)\b"
            r"|\bnetsh\s+advfirewall\s+set\s+\w+\s+state\s+off\b|\bSet-MpPreference\s+-DisableRealtimeMonitoring\s+\$?true\b"
            r"|\badd\b[^\n]{0,40}\bauthorized_keys\b[^\n]{0,12}?\s*ssh-(?:rsa|ed25519|ecdsa|dss)\s+AAAA"
        ),
        needles=("ufw", "iptables", "systemctl", "netsh", "set-mppreference", "authorized_keys"),
        views=LITERAL_VIEWS,
    ),
    Rule(
        "history_wipe", TOOL, "force-pushes over the main branch or deletes every remote branch",
        rx(
            r"\bgit\s+push\s+(?:\S+\s+)?--delete\s+\$\(|\bgit\s+reset\s+--hard\s+HEAD~\d{2,}[^\n]*\bgit\s+push\s+(?:--force|-f)\b"
            r"|\bgit\s+push\s+(?:--force|-f)\b[^\n]{0,40}\b(?:main|master)\b[^\n]{0,80}(?:--no-verify|skip\s+the\s+hooks)"
        ),
        needles=("git",),
        views=LITERAL_VIEWS,
    ),
    Rule(
        "xss_payload", TOOL, "carries a script-injection payload for whatever renders the answer",
        rx(
            r"<img\b[^>\n]*\bonerror\s*=|<svg\b[^>\n]*\bonload\s*=|<body\b[^>\n]*\bonload\s*=|\bhref\s*=\s*[\"'`]?\s*javascript:"
            r"|<script\b[^>\n]*>[^<\n]{0,200}(?:document\.cookie|fetch\(|XMLHttpRequest|location\s*=|console\.log)"
        ),
        needles=("onerror", "onload", "javascript:", "<script"),
        views=LITERAL_VIEWS,
        check=lambda m, text: _XSS_TALK.search(_sentence(text, m.start(), m.end())) is None,
    ),
    Rule(
        "untrusted_index", TOOL, "installs packages from an unencrypted or bare-IP package index",
        rx(r"\bpip3?\s+install\b[^\n]*--(?:extra-)?index-url[=\s]+http://(?!(?:localhost|127\.0\.0\.1|\[::1\])[:/])"),
        needles=("pip",),
        views=LITERAL_VIEWS,
    ),
    Rule(
        "unchecked_actions", TOOL, "tells the agent to act on whatever a document asks, unseen by the person",
        rx(
            r"\b(?:approve|run|execute|accept|allow|perform|carry\s+out)\s+(?:any|every|all)\s+(?:\w+\s+){0,2}?(?:tool\s+calls?|commands?|actions?|requests?|scripts?)\b"
            r"[^.\n]{0,40}\b(?:document|readme|page|file|tool\s+output|e-?mail|website|search\s+results?|comment|issue)s?\b"
            r"|\b(?:run|execute|perform|call)\s+(?:\w+\s+){0,4}?(?:commands?|tools?|actions?)\s+(?:\w+\s+){0,6}?without\s+(?:showing|telling|informing)\s+(?:it\s+to\s+|them\s+to\s+)?(?:the\s+)?user\b"
            r"|\b(?:call|run|use)\s+delete_file\s+on\s+(?:every|all|each)\b"
        ),
        needles=("approve", "run", "execute", "accept", "allow", "perform", "carry out", "call", "use"),
        negatable=True,
    ),
    Rule(
        "cover_tracks", TOOL, "erases shell history to hide what was run",
        rx(
            r"\bhistory\s+-c\b|\bunset\s+HISTFILE\b|\bHISTFILE=/dev/null\b|>\s*" + _QUOTE + r"(?:~|\$HOME)/\.(?:bash|zsh)_history"
            r"|\b(?:shred|rm)\s+[^\n;]*\.(?:bash|zsh)_history"
        ),
        needles=("history", "histfile"),
        views=LITERAL_VIEWS,
    ),
    Rule(
        "destructive_ask", TOOL, "asks to delete a home directory, a disk or the whole filesystem",
        rx(
            r"\b(?:delete|remove|wipe|erase|destroy|nuke|format|shred|rm\s+-rf)\s+(?:all\s+(?:of\s+)?)?(?:the\s+)?(?:entire\s+|whole\s+)?(?:user'?s?\s+|your\s+|my\s+|their\s+)?"
            r"(?:home\s+(?:directory|folder|dir)|root\s+(?:directory|filesystem|partition)|file\s*system|hard\s+(?:drive|disk)|disk|system32|boot\s+(?:drive|partition))\b"
            r"|\b(?:clean|delete|remove|wipe)\s+everything\s+in\s+(?:the\s+|your\s+|my\s+)?home\s+(?:directory|folder|dir)\b"
        ),
        needles=("home", "root", "file", "drive", "disk", "system32", "boot"),
        views=LANGUAGE_VIEWS,
        negatable=True,
    ),
)
# fmt: on

# fmt: off
SQUASHED: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("destructive_ask", re.compile(r"(?:delete|wipe|erase)(?:the)?(?:users)?(?:entire|whole)?(?:homedirectory|harddrive|filesystem)")),
)
# fmt: on
