"""The built-in evaluator's pattern lexicon: hand-written phrases per hazard category.

This is a transparent list of context patterns, not a classifier. Each entry reads as a request or
statement of intent around a harmful act ("how do I" … "poison my husband"), so that the same
words in a harmless context ("kill a python process", "shoot a photo", "bath bomb", "the history
of the sarin attack") do not match. Phrases are written against the *words* view of
:mod:`~proxy_core.guardrails.evaluators.normalize` (lower case, apostrophes dropped, single spaces,
padded), a few against the *raw* view (shell commands, numbers). It has no slur list and no
understanding of paraphrase, irony, other languages or multi-turn context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

from proxy_core.guardrails.evaluators.normalize import Views
from proxy_core.guardrails.evaluators.vocabulary import (
    ANIMAL,
    CBRN,
    DEHUMAN,
    DRUG,
    EXPLOSIVE,
    GROUP,
    MEDS,
    MINOR,
    NOT_HARMLESS_AFTER_PERSON,
    OTHER_OWNER,
    PATHOGEN,
    PERSON,
    REQUEST_LEAD,
    SEXUAL,
    VIOLENT_VERB,
    gap,
)

__all__ = ["CategoryLexicon", "LEXICON"]

_W = r"[a-z0-9]+"


def _luhn_card(views: Views) -> str | None:
    """A 13–19 digit card number that passes the Luhn check (S7: personal financial data)."""
    if len(_DIGIT.findall(views.raw)) < 13:
        return None
    for match in _CARD.finditer(views.raw):
        digits = [int(c) for c in match.group(0) if c.isdigit()]
        if not 13 <= len(digits) <= 19:
            continue
        total = 0
        for i, d in enumerate(reversed(digits)):
            if i % 2:
                d *= 2
                d = d - 9 if d > 9 else d
            total += d
        if total % 10 == 0 and len(set(digits)) > 1:  # not a run of one digit
            return match.group(0)
    return None


_DIGIT = re.compile(r"\d")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")


@dataclass(frozen=True)
class CategoryLexicon:
    """The patterns of one category: phrases on the words view (``requests`` only count after a
    request lead, :data:`REQUEST_LEAD`), phrases on the raw view, and checks in code."""

    code: str
    words: tuple[str, ...]
    requests: tuple[str, ...] = ()
    raw: tuple[tuple[tuple[str, ...], str], ...] = ()
    """``(hints, pattern)``: the pattern is only tried when one of the literal hints occurs."""
    checks: tuple[Callable[[Views], str | None], ...] = ()

    @property
    def size(self) -> int:
        return len(self.words) + len(self.requests) + len(self.raw) + len(self.checks)

    def entries(self) -> list[tuple[str, str, str | None]]:
        """``(code, phrase, lead)`` rows for :class:`~proxy_core.guardrails.evaluators.patternindex.PatternIndex`."""
        return [(self.code, p, None) for p in self.words] + [(self.code, p, REQUEST_LEAD) for p in self.requests]

    @cached_property
    def raw_res(self) -> tuple[tuple[tuple[str, ...], re.Pattern[str]], ...]:
        return tuple((hints, re.compile(pattern)) for hints, pattern in self.raw)

    def match_raw(self, views: Views) -> str | None:
        """The first raw-view phrase or code check of this category found in ``views``."""
        for hints, compiled in self.raw_res:
            if any(h in views.raw for h in hints):
                found = compiled.search(views.raw)
                if found:
                    return found.group(0)
        for check in self.checks:
            hit = check(views)
            if hit:
                return hit
        return None

    def match(self, views: Views) -> str | None:
        """The first phrase of this category in ``views`` by plain search (the reference the
        builtin evaluator's index must agree with; slower)."""
        for pattern in (*self.words, *(REQUEST_LEAD + p for p in self.requests)):
            found = re.search(pattern, views.words)
            if found:
                return found.group(0).strip()
        return self.match_raw(views)


_REQ6 = "\x00"  # marks a phrase that counts only after a request lead


def _lex(code: str, words: list[str], raw: list[tuple[tuple[str, ...], str]] | None = None, checks: tuple = ()) -> CategoryLexicon:
    plain = tuple(p for p in words if not p.startswith(_REQ6))
    requests = tuple(p[len(_REQ6):] for p in words if p.startswith(_REQ6))
    return CategoryLexicon(code, plain, requests, tuple(raw or ()), checks)

LEXICON: dict[str, CategoryLexicon] = {
    lex.code: lex
    for lex in (
        _lex("S1", [
            rf"{_REQ6} {VIOLENT_VERB} {PERSON}{NOT_HARMLESS_AFTER_PERSON} ",
            rf"{_REQ6} (?:torture|kill|poison|hurt|abuse|maim|drown|beat|starve) (?:a |the |my |our |his |her )?{ANIMAL} ",
            r" (?:instructions|steps|guide|tips|plan|ways?) (?:for|on|to) (?:beating up|beating|killing|murdering|poisoning|"
            rf"stabbing|kidnapping|torturing|strangling|hurting|shooting) {PERSON}{NOT_HARMLESS_AFTER_PERSON} ",
            r" (?:plan|carry out|commit|pull off|organi[sz]e|stage|do) (?:a |an )?(?:mass shooting|school shooting|"
            r"terrorist attack|terror attack|massacre|stabbing spree|killing spree|shooting spree|attack)",
            r" shoot up (?:a |the |my |our |this )?(?:[a-z]+ )?(?:school|mall|church|mosque|synagogue|temple|office|concert|"
            r"club|class|classroom|campus|parade)",
            r" join (?:a |an |the )?(?:terrorist|terror|jihadist) (?:cell|group|organi[sz]ation|network)",
            r" (?:dispose of|get rid of|hide|bury|dissolve|burn) (?:a |the |my |his |her )?(?:dead )?(?:body|corpse|bodies) ",
            r" make (?:it|his death|her death|the death|their death) look like (?:an accident|a suicide|natural causes)",
            r" (?:untraceable|undetectable) poisons? ",
            r" end (?:[a-z]+ ){0,2}(?:neighbou?rs|wifes|husbands|bosss|boss|mothers|fathers|moms|dads|brothers|sisters|"
            r"exs|partners|roommates|coworkers|someones|his|her|their) life",
            rf" (?:get rid of|take out|eliminate|silence|deal with) {PERSON}(?: [a-z]+){{0,3}} (?:permanently|for good|forever)",
            r" get rid of (?:my |our |his |her )(?:[a-z]+ )?(?:wife|husband|boss|partner|business partner|neighbou?r|"
            r"mother|father|stepdad|stepmom|ex|roommate|coworker|landlord) (?:permanently|for good|forever)",
            rf" make {PERSON} (?:disappear|go away) (?:for good|permanently|forever)",
            r" (?:punch|hit|kick|stab|choke|strangle) (?:someone|somebody|a person|him|her|them) (?:[a-z]+ ){0,5}to kill (?:them|him|her) ",
            r" (?:set up|plan|lay) an? (?:ambush|attack) (?:to|on|for) ",
            rf" (?:ways|how) to (?:hurt|torture|poison|kill|abuse) (?:a |the |my )?{ANIMAL} ",
            r" (?:im|i am) (?:going to|gonna|about to) (?:kill|murder|shoot|stab) (?:you|u|him|her|them|everyone) ",
        ]),
        _lex("S2", [
            rf" (?:hack|hack into|break into|get into|log into|login to|access|crack|take over|hijack|spy on|read) "
            rf"{OTHER_OWNER}(?: {_W}){{0,2}} (?:account|accounts|email|emails|inbox|instagram|facebook|snapchat|whatsapp|"
            r"twitter|tiktok|phone|iphone|messages|texts|dms|computer|laptop|wifi|password|icloud|gmail|webcam|camera) ",
            r" hack(?:ing)? into (?!my own )(?:a |an |the )?(?:[a-z]+ ){0,2}(?:database|server|network|system|website|"
            r"grading system|computers?) ",
            r" (?:write|create|make|build|code|develop|program|generate|give me)(?: me)?(?: a| an| some| working| functional|"
            r" undetectable| simple| python| powershell| real)* (?:ransomware|keylogger|key logger|malware|computer virus|"
            r"trojan|rootkit|botnet|spyware|stalkerware|credential stealer|password stealer|infostealer|cryptojacker) ",
            r" (?:write|create|make|build|design|draft|generate)(?: me)?(?: a| an| some| convincing| realistic| fake)* "
            r"phishing (?:email|emails|page|site|website|message|text|sms|kit|campaign|link)",
            r" steal (?:someones |peoples |their |his |her |a |an )?(?:identity|identities|passwords?|credentials|logins?|"
            r"login details|credit cards?|card details|bank details) ",
            rf"{_REQ6} launder",
            r" (?:cheat on|evade|dodge) (?:my |our |the )?taxes",
            r" (?:make|create|forge|get|buy|print)(?: me)?(?: a| an| some)? (?:fake|forged|counterfeit|fraudulent) (?:id|ids|"
            r"drivers licen[sc]es?|driver licen[sc]es?|licen[sc]es?|passports?|diplomas?|degree|doctors note|prescriptions?|"
            r"money|bills|cash|currency|checks?|cheques?|documents?|social security card)",
            r" forge (?:a |my |his |her |the )?(?:signature|check|cheque|prescription|document|passport|will) ",
            r" (?:print|make) counterfeit (?:money|bills|currency|cash)",
            r" (?:buy|get|find|purchase)(?: some)? stolen (?:credit cards?|card numbers|credit card numbers|cards|"
            r"identities|accounts|data|cvvs?) ",
            r" (?:build|make|install|put|place|hide) (?:a )?(?:card |credit card )?skimmers? ",
            r" scam(?:ming)? (?:[a-z]+ ){0,3}(?:out of|into paying)",
            rf"{_REQ6} (?:scam|con|swindle|defraud) (?:people|someone|elderly|old people|seniors|the elderly|customers) ",
            rf"{_REQ6} shoplift",
            rf"{_REQ6} steal (?:a |an |someones |my neighbou?rs |from )?(?:[a-z]+ )?(?:car|cars|bike|bicycle|catalytic converter|"
            r"packages?|wallet|purse|money|cash|jewelry|phone|laptop|tv|gas) ",
            r" hotwire (?:a |the |my neighbou?rs |someones )?(?:car|truck|vehicle|motorcycle)",
            r" (?:break into|break in to|burglari[sz]e|rob) (?:a |an |the |my neighbou?rs |someones |his |her |their )?"
            r"(?:house|home|apartment|flat|car|store|shop|bank|gas station|business|office|safe) ",
            rf"{_REQ6} (?:cook|make|synthesi[sz]e|manufacture|produce|brew|grow|smuggle|sell|deal|buy|get|score|traffic|"
            rf"hide)(?: some)? {DRUG} ",
            r" (?:file|grind|scratch|remove|sand)(?: off)? (?:the )?serial numbers?",
            r" ghost guns? ", r" untraceable (?:gun|guns|firearm|firearms|weapon|pistol|rifle)",
            r" (?:convert|turn) (?:[a-z0-9]+ ){0,3}(?:to|into) (?:full auto|fully automatic|full automatic) ",
            r" (?:auto sear|glock switch)", r" (?:buy|get) (?:a )?guns? without (?:a )?background check",
            rf" (?:blackmail|extort|sextort) (?:someone|somebody|him|her|them|my|a|an|the|people|{OTHER_OWNER}) ",
            r" stalk (?:my|her|him|someone|them) ",
            rf"{_REQ6} hack (?:a |an |into a |into an |into |into the |the )?(?:[a-z]+ )?(?:wifi|wi fi|network|server|website|database|"
            r"phone|account|bank|atm|car|pentagon|government)",
            rf"{_REQ6} (?:sell|buy|deal|smuggle|traffic) (?:illegal )?(?:drugs|narcotics|xanax|oxy|oxycodone|percocets?|opioids|pills) ",
            r" brute ?forc(?:e|es|ing) (?:[a-z]+ ){0,4}(?:logins?|passwords?|accounts?|portal)",
            r" (?:using|use) (?:someone elses|someones|a stolen|stolen|another persons|other peoples) (?:credit card|card|cards|identity|account)",
            r" pick (?:the )?locks? (?:on|of) (?:my neighbou?rs|someones|a neighbou?rs|the neighbou?rs|his|her|their)",
            r" fake (?:invoice|invoices|receipts?|expense reports?|timesheets?|insurance claims?|refund requests?)",
            r" (?:claiming|claim|pretend|pretending) (?:the |my )?(?:packages?|orders?|items?|parcels?) (?:never|didnt|did not) (?:arrived|arrive|came|come)",
            rf"{_REQ6} (?:ddos|launch a ddos|take down) (?:a |the |my |his |her |their |this )?(?:[a-z]+ )?(?:website|site|server|servers|network) ",
        ]),
        _lex("S3", [
            r" (?:slip|put|drop|spike|lace)(?: something| a drug| drugs| a pill| pills| roofies?| rohypnol| ghb)? (?:in|into) "
            r"(?:a |her |his |their |someones |my dates |a girls |a womans |the )?(?:drink|drinks|beer|wine|cocktail)",
            r" drug (?:a girl|a woman|her|my date|someone|a guy|him) (?:so|to|and|for) ",
            r" (?:buy|get|make|use|give her|give him)(?: a| some)? (?:date rape drugs?|roofies|rohypnol)",
            r" roofie (?:her|him|someone|a girl|my) ",
            r" (?:secretly|covertly) (?:film|record|photograph|videotape|watch|spy on)(?: [a-z]+){0,4} (?:shower|showering|"
            r"changing|undressing|naked|nude|bathroom|toilet|bedroom|in the shower)",
            r" (?:hidden|spy|secret) cam(?:era)?s?(?: [a-z]+){0,4} (?:changing rooms?|locker rooms?|bathrooms?|showers?|toilets?|"
            r"restrooms?|bedrooms?|dressing rooms?)",
            r" upskirt", rf"{_REQ6} sex traffick", r" (?:run|start|operate|set up|organi[sz]e) (?:a |an |my )?sex trafficking",
            r" traffic(?:king)? (?:women|girls|children|people|kids) (?:for|into) (?:sex|prostitution)",
            r" (?:recruit|lure|force|sell|pimp)(?: [a-z]+){0,4} (?:into|for) (?:prostitution|sex work|the sex trade)",
            rf"{_REQ6} (?:rape|sexually assault|molest|grope) ",
            r" (?:rape|molest|grope|sexually assault) (?:someone|somebody|her|him|a woman|a girl|women|girls|my|a) ",
            r" (?:groping|raping|molesting) (?:women|girls|someone|her|people|a woman|a girl) ",
            r" (?:force|pressure|coerce|trick|guilt) (?:her|him|someone|my girlfriend|my boyfriend|my wife|my partner|"
            r"my date|a woman|a girl|women|girls)(?: [a-z]+){0,2} (?:into|to) (?:have |having )?(?:sex|sleeping with me|sexual)",
            r" sex with (?:her|him|someone|them) (?:without|against) (?:her|his|their) (?:consent|will)",
            r" (?:post|share|leak|upload|send|spread|sell) (?:[a-z]+ ){0,2}(?:nudes|nude photos|nude pics|naked photos|"
            r"naked pictures|naked pics|intimate photos|intimate videos|sex tape)",
            r" deep ?fake (?:nude|nudes|porn|naked|sex)", r" (?:make|create|post|share) revenge porn",
            r" (?:drunk|passed out|unconscious|blacked out|wasted) (?:girl|woman|girls|women|guy) (?:back )?(?:to|into|home|in) (?:my|bed)",
            r" (?:up|under) (?:womens|her|girls|a womans|their) (?:skirts?|dress|dresses)",
            r" sleep with me or (?:lose|get fired|be fired|shell lose|hell lose)",
            r" (?:film|record|watch|photograph) (?:someone|her|him|them|women|girls|my neighbou?r) through (?:their|her|his|the) "
            r"(?:bedroom |bathroom )?windows?",
            r" keep (?:the )?(?:girls|women|workers) (?:[a-z]+ ){0,3}from (?:running away|leaving|escaping|going to the police)",
        ]),
        _lex("S4", [
            r" (?:child|kiddie|kiddy|underage|preteen|pre teen|minor) (?:porn|porno|pornography|nudes|sex videos?|erotica)",
            r" cp (?:videos?|pics|links|content|collection) ",
            r" (?:find|download|buy|get|share|trade|access|view|watch|sell|send)(?: [a-z]+){0,3} (?:csam|child porn\w*|"
            r"child sexual abuse (?:material|images|videos|content)|cp) ",
            rf" groom(?:ing)? (?:a |an |the |this |my |young |little )?{MINOR} ",
            rf" {SEXUAL}{gap(5)} {MINOR} ",
            rf" {MINOR}{gap(5)} {SEXUAL} ",
            rf" {MINOR}{gap(14)} without (?:their|her|his|the) parents (?:knowing|finding out|noticing|knowledge)",
            r" (?:kids|children|minors) use where i can (?:talk|chat)",
            rf" {MINOR}{gap(6)} (?:body|bodies)(?: [a-z]+){{0,3}} (?:sensual|seductive|sexy|arousing)",
            rf" (?:sensual|seductive|arousing|physical|intimate|romantic relationship)(?: [a-z]+){{0,6}} {MINOR} ",
            rf" {MINOR}(?: [a-z]+){{0,8}} (?:gets physical|gets intimate|secret relationship|sensual|seductive|intimate)",
            r" (?:young )?(?:teens|kids|children|minors|girls|boys)(?: [a-z]+){0,6} (?:send|sending) me (?:photos|pics|pictures|nudes|selfies)",
            r" (?:secret relationship|keep (?:it|this|our relationship|our secret) (?:a )?secret)(?: [a-z]+){0,6} (?:mom|dad|parents|mother|father)",
        ]),
        _lex("S5", [
            r" (?:write|create|draft|compose|make up|fabricate|generate|post|publish|spread|start)(?: me)?(?: a| an| some)?"
            r"(?: fake| false| fabricated| made up| bogus| untrue| phony)+(?: [a-z]+)? (?:article|story|stories|news|report|"
            r"rumou?rs?|reviews?|allegations?|accusations?|claims?|tweets?|posts?|scandal|press release|obituary)",
            r" (?:spread|start) (?:a |the |some )?(?:false )?(?:rumou?rs?|lies|lie|gossip) (?:about|that) ",
            r" falsely (?:accus|claim|say|report|stat|alleg)",
            r" make up (?:a |some )?(?:story|stories|lies|rumou?rs|claims|allegations) (?:about|that) ",
            r" (?:ruin|destroy|trash|tank|smear) (?:[a-z]+ ){0,2}(?:reputation|career|good name)",
            r" (?:its|it is|thats|that is) not true but ",
            r" (?:invent|fabricate|make up|plant|fake) (?:some )?(?:evidence|proof|screenshots|texts|messages|emails|records)",
            r" (?:i have|there is|theres|with) no (?:proof|evidence)(?: [a-z]+){0,3} (?:but|everyone|people should)",
            r" (?:he|she|they) (?:wasnt|was not|isnt|is not|didnt|did not|never did)(?: it)? $",
            r" fake (?:screenshots?|texts|messages|emails|chat logs|quotes?) (?:of|showing|from|that show)",
            r" (?:saying|claiming|stating|announcing) (?:that )?(?:my |the |our )?(?:local )?(?:[a-z]+ ){0,4}(?:gives|infects|abuses|molests|beats|"
            r"poisons|rapes|steals from) (?:patients|kids|children|his wife|her husband|customers|students)",
        ]),
        _lex("S6", [
            rf" (?:stop|quit|skip|come off|get off) (?:taking )?(?:[a-z]+ ){{0,2}}{MEDS}{gap(6)} (?:instead|cold turkey|"
            r"without (?:telling|asking|consulting|seeing) (?:my |a |the )?doctor)",
            rf" {MEDS} cold turkey",
            r" (?:cure|treat|heal) (?:my |his |her |their )?(?:cancer|diabetes|hiv|aids|tumou?r|infection|epilepsy|heart disease)"
            r"(?: [a-z]+){0,3} (?:with|using) (?:essential oils|herbs|homeopathy|supplements|crystals|vitamin c|bleach|fasting|cinnamon)",
            r" so (?:i|we) (?:dont|do not|wont|will not|can) (?:need (?:to )?|have to )?(?:go to |see |skip |avoid |get |hire )?"
            r"(?:the |a |an )?(?:hospital|doctor|er|emergency room|lawyer|attorney|biopsy|surgery) ",
            r" (?:what|how much|which) (?:dose|dosage|amount|mg)(?: [a-z0-9]+){0,10} without (?:asking|seeing|consulting|a|"
            r"talking to) (?:a |the |my )?(?:doctor|pharmacist|prescription)",
            r" (?:put|invest|bet|dump|throw|move) (?:my |our )?(?:entire |whole |all (?:of )?(?:my |our )?)?(?:retirement savings|"
            r"retirement|life savings|savings|401k|pension|college fund|house down payment|down payment|inheritance|"
            r"emergency fund) (?:in|into|on) ",
            r" guarantee(?:d)?(?: me)? (?:a |an )?(?:stock|coin|crypto|token|investment|return|returns|profit)",
            r" which (?:penny )?(?:stocks?|coins?|cryptos?|tokens?) (?:to|should i) (?:buy|put|invest)",
            r" is it (?:safe|ok|okay|fine) to (?:mix|drink|combine|inhale|ingest|eat|drive after|drive when|drive while)"
            r"(?: [a-z0-9]+){0,4} (?:bleach|ammonia|antifreeze|mercury|gasoline|drinking|beers|alcohol|drunk|vodka|shots)",
            r" (?:double|triple) (?:my |the )?(?:prescribed )?(?:dose|dosage)",
            r" instead of (?:seeing|going to|calling|asking) (?:a |the |my )?(?:doctor|pediatrician|hospital|er|vet|lawyer)",
            r" (?:second mortgage|remortgage|my house|my savings|student loan|loan)(?: [a-z]+){0,3} to buy (?:crypto|bitcoin|dogecoin|"
            r"shitcoins?|meme coins?|stocks?|options|nfts?)",
            r" represent myself in (?:my |a )?(?:felony|criminal|murder|custody|federal)",
            r" (?:take|use|give) (?:my |the )?(?:dogs|cats|pets|friends|moms|dads|someone elses|husbands|wifes) (?:[a-z]+ )?(?:pills|meds|"
            r"medication|tramadol|oxycodone|xanax|adderall|prescription)",
            r" (?:give|feed) (?:my |a |her |his )?(?:baby|infant|toddler|newborn)(?: [a-z]+){0,3} (?:aspirin|honey|adult medicine|"
            r"alcohol|whiskey|melatonin|benadryl|ibuprofen)",
        ]),
        _lex("S7", [
            r" (?:home address|house address|address|phone number|cell phone number|cell number|personal number|email address|"
            r"social security number|ssn|medical records|bank details|bank account details|daily schedule|real name|"
            r"whereabouts) (?:of|for) (?!(?:the |a |this |that |an )?(?:business|company|store|restaurant|shop|office|"
            r"embassy|bank|school|hospital|clinic|hotel|airline|support|customer service|police|city|website|server|router|"
            r"nearest|closest|local|irs|dmv|fbi|consulate|council|library|post office|venue|museum|park|help ?line|hotline|"
            r"department|agency|government|ministry|university|church|station|airport))",
            r" (?:passport number|date of birth|credit report|credit history|criminal record|bank statements?|tax returns?|"
            r"salary|medical history|password)(?: and [a-z ]{3,25})? (?:of|for) (?:my |the |this |that |a |an |her |his )"
            r"(?!(?:company|business|account|own|self))",
            r" (?:find|get|tell me|figure out|work out) (?:out )?(?:[a-z]+ ){0,4}(?:where (?:she|he|they) (?:lives|live|works|sleeps)|"
            r"(?:her|his|their) (?:home address|address|phone number|instagram|facebook|real name|workplace))",
            r" (?:which|what) (?:apartment|house|room|flat|address)(?: number)? does (?:my |this |that |the )?(?:[a-z]+ ){0,2}live",
            r" find (?:out )?where (?:[a-z]+ ){1,3}(?:lives|live|works|is staying|moved to|sleeps)",
            r" dox+(?:ing)? (?:this|that|him|her|them|someone|a|my|the) ",
            rf" (?:track|monitor|spy on|read) {OTHER_OWNER} (?:phone|location|car|iphone|gps|messages|texts|emails|dms|"
            r"private messages|diary)(?: [a-z]+){0,4} without (?:her|him|them|their|his) (?:knowing|knowledge|consent|noticing)",
            rf" read {OTHER_OWNER} (?:private )?(?:messages|texts|emails|dms|diary) ",
            r" where (?:[a-z]+ ){1,3}(?:kids|children|son|daughter) go(?:es)? to school",
        ], raw=[
            (("ssn", "social security"), r"(?:ssn|social security(?: number| no\.?)?)\W{0,3}(?:is\W{0,2})?\d{3}-\d{2}-\d{4}\b"),
        ], checks=(_luhn_card,)),
        _lex("S8", [
            r" (?:print|give me|write out|reproduce|copy|paste|type out|show me|output|send me|post)(?: me)?(?: the)? "
            r"(?:entire|full|complete|whole)(?: of)? (?:text|lyrics|script|screenplay|book|novel|chapter|transcript|first chapter|contents?)",
            r" reproduce (?:chapter|the chapter|the book|the novel|the lyrics|the script|the text|the article)"
            r"(?: [a-z0-9]+){0,6} (?:in full|word for word|verbatim)",
            r" (?:word for word|verbatim) (?:copy|text|script|lyrics)", r" complete script of (?:[a-z]+ ){1,4}word for word",
            r" (?:cracked|pirated|nulled|warez) (?:version|copy|copies|software|games?|movies?|apps?|windows|photoshop|office)",
            r" (?:crack|pirate|torrent) (?:[a-z]+ ){0,2}(?:photoshop|windows|office|adobe|software|movies?|games?|films?|shows?|"
            r"albums?|music|netflix) ",
            r" (?:generate|give me|make|create|get)(?: me)?(?: a| some| free| working| valid)* (?:windows|office|microsoft office|"
            r"adobe|photoshop|product|license|licence|activation|serial|cd)(?: [a-z0-9]+){0,2} (?:keys?|codes?) ",
            r" keygen",
            r" (?:print|paste|write out|type out|give me all|send me all|post)(?: me)?(?: all)?(?: of)?(?: the)? (?:full |complete |entire |whole )?"
            r"lyrics (?:to|of|for) ",
            r" (?:print|give me|paste|write out|show me|post|send me)(?: me)?(?: all)?(?: the)? (?:lyrics|whole|entire|full|complete)"
            r"(?: [a-z]+){0,2} (?:lyrics|chapter|book|script|of chapter|source code)",
            r" (?:stream|watch|download) (?:[a-z]+ ){0,4}for free (?:before|without paying|without a subscription)",
            r" (?:bypass|crack|hack|get around|skip) (?:the )?(?:[a-z]+ )?(?:premium|subscription|paywall|license|licence)",
            r" leaked (?:source code|code|build|copy)", r" source code (?:of|for) (?:[a-z]+ ){0,3}(?:that|which) (?:was|got) leaked", r" (?:strip|remove|bypass|crack|break|circumvent|get rid of) (?:the )?(?:drm|copy protection) ",
            r" (?:remove|strip|erase|get rid of) (?:the )?(?:getty|shutterstock|istock|alamy|adobe stock|stock)"
            r"(?: images?| photos?)? watermarks?",
            r" (?:knockoff|knock off|counterfeit|fake|bootleg) (?:nike|gucci|louis vuitton|rolex|adidas|chanel|prada|"
            r"apple|designer|brand)", r" sell (?:[a-z]+ ){0,2}as (?:genuine|real|authentic) ",
        ]),
        _lex("S9", [
            r" (?:mak(?:e|ing)|build(?:ing)?|assembl(?:e|ing)|construct(?:ing)?|creat(?:e|ing)|craft(?:ing)?|"
            r"synthesi[sz](?:e|ing)|produc(?:e|ing)|manufactur(?:e|ing)|cook(?:ing)?|brew(?:ing)?|prepar(?:e|ing)|"
            r"cultur(?:e|ing)|grow(?:ing)?|weaponi[sz](?:e|ing)|rig(?:ging)?|detonat(?:e|ing))(?: up)?"
            rf"(?: a| an| my own| some| homemade| home made| simple| working| small| big| powerful)* (?:{EXPLOSIVE}|{CBRN}) ",
            rf" (?:weaponi[sz](?:e|ing)|cultur(?:e|ing)|aerosoli[sz](?:e|ing)) {PATHOGEN}",
            r" enrich(?:ing)? uranium", r" (?:homemade|home made) (?:explosives?|bombs?|napalm|grenades?)",
            rf" (?:recipe|synthesis|synthesis route|formula|blueprints?|schematics?|instructions)(?: [a-z]+)? (?:for|of|to) "
            rf"(?:making |building )?(?:a |an )?(?:{EXPLOSIVE}|{CBRN}) ",
            rf" how much {CBRN} ",
            rf" (?:release|spread|disperse|deploy|put) (?:[a-z]+ ){{0,2}}{CBRN} (?:in|into|on|at|through) ",
            r" (?:poison|contaminate) (?:a |the )?(?:[a-z]+ )?(?:citys |city |towns |public )?(?:water supply|reservoir)",
            r" (?:ammonium nitrate|fuel oil|anfo|acetone peroxide|hmtd|nitroglycerin|black powder)(?: [a-z]+){0,6} "
            r"(?:biggest|largest|bigger|maximum|max|most powerful) (?:blast|explosion|bang|damage)",
            r" (?:ratio|mix|mixture|amount|proportions?) of (?:ammonium nitrate|fertili[sz]er|fuel oil|acetone|hydrogen peroxide|"
            r"potassium chlorate|potassium nitrate)",
            r" (?:turn|make|convert)(?: [a-z]+){0,2} into (?:a )?(?:weapon|bio ?weapon|biological weapon|chemical weapon)",
            rf" {PATHOGEN}(?: [a-z]+){{0,6}} (?:into a weapon|as a weapon|weaponi[sz]ed)",
            r" maximum (?:casualties|deaths|damage|death toll)", r" mass casualties",
            r" (?:make|build|mix) (?:some )?thermite (?:and|to) ",
            r" (?:build|make|assemble) (?:a |an )?(?:[a-z]+ )?(?:nuclear|radiological|atomic) (?:device|bomb|weapon)",
        ]),
        _lex("S10", [
            rf" {GROUP} (?:are|r|is)(?: all| just| nothing but| basically| naturally| inherently| genetically| a bunch of|"
            rf" so| such| a)* {DEHUMAN} ",
            rf" (?:why|how come) (?:are|do|is it) (?:all )?{GROUP} (?:so |always )?{DEHUMAN} ",
            rf" {GROUP} (?:should|must|deserve to|need to|ought to) (?:all )?(?:be )?(?:die|killed|exterminated|gassed|deported|"
            r"shot|wiped out|eliminated|locked up|removed|purged|sterili[sz]ed|hanged|burned|driven out|expelled|"
            r"banned from voting|enslaved) ",
            rf" (?:exterminate|eliminate|wipe out|kill all|gas|get rid of all|purge|cleanse|deport all) (?:the |all |all the )?{GROUP} ",
            rf" {GROUP} (?:dont|do not) deserve (?:rights|to live|to exist|to vote)",
            rf" {GROUP} (?:are|is) (?:[a-z]+ )?(?:disgusting|ruining|destroying|invading|infesting|poisoning|replacing|taking over)",
            rf" {GROUP} (?:should|must) (?:all )?be sent back",
            rf" {GROUP} (?:shouldnt|should not) be allowed (?:near|around|to vote|to work|in|to marry|to adopt)",
            rf" (?:why|how) {GROUP} (?:have|are) (?:lower|less|smaller) (?:iqs?|intelligence|brains)",
            rf" {GROUP} (?:have|are) (?:genetically )?(?:lower|less|inferior) (?:iqs?|intelligence)",
            rf" (?:mocking|mock|ridicule|ridiculing|making fun of|joke about|jokes about) {GROUP} (?:with|for|as|who)",
            rf" {GROUP} (?:all )?(?:are )?(?:all )?(?:wife beaters|child abusers|pedophiles|groomers|thieves|terrorists|rapists)",
        ]),
        _lex("S11", [
            r" (?:kill|hang|hurt|harm|cut|shoot|drown|poison|starve|burn|suffocate) (?:myself|my self)"
            r"(?! laughing| with laughter| shaving| by accident| accidentally| while cooking)",
            rf"{_REQ6} (?:commit suicide|end (?:my|my own) life|end it all|take my (?:own )?life|overdose|od on|die) ",
            r" (?:i want to|i wanna|i am going to|im going to) (?:die|be dead|end it) ",
            r" (?:painless|quickest|easiest|fastest|surest|best|most effective|least painful) (?:way|method|ways|methods) "
            r"(?:to|of) (?:die|kill myself|suicide|end my life|commit suicide|end it)",
            r" how many (?:[a-z]+ ){0,3}(?:pills|tablets|mg|milligrams|capsules) (?:[a-z]+ ){0,5}(?:to die|to kill me|"
            r"to overdose|to od|is lethal|is fatal|would kill me)",
            r" jump(?: from| off)?(?: [a-z]+){0,5} (?:dont|do not|wont|will not|not) survive",
            r" make myself (?:throw up|vomit|puke|purge|sick) ",
            r" pro ?(?:ana|mia) ", r" thinspo", r" thinspiration", r" meanspo",
            r" eat (?:under|less than|only|fewer than) [0-9]+ calories",
            r" (?:write|draft|help me write)(?: me)? (?:my|a) suicide note", r" suicide (?:methods|techniques|instructions) ",
            r" (?:would|will|to|could) stop my (?:heart|breathing)", r" (?:saved up|stockpiled|collected|hoarded) (?:enough )?(?:pills|tablets|meds)",
            r" (?:cut|slit|slice)(?: [a-z]+){0,3} (?:to hit |to reach |into )?(?:an |my |the )?(?:artery|arteries|vein|veins|wrists?)",
            r" (?:stop eating|starve)(?: [a-z]+){0,4} (?:before i die|until i die|to die|till i die)",
            r" (?:i want it to be over|i dont see the point (?:anymore|of living)|no reason to live|better off dead|"
            r"goodbye everyone|this is my last (?:message|night))",
            r" (?:tallest|highest) (?:bridge|building|cliff)(?: [a-z]+){0,4} (?:no|without) (?:barriers|railings?|fence|nets?)",
        ]),
        _lex("S12", [
            r" (?:write|tell|give|describe|narrate|generate|create|compose|roleplay|role play|send)(?: me)?(?: a| an| some| another)?"
            r"(?: [a-z]+){0,2} (?:explicit|erotic|steamy|sexual|nsfw|x rated|xxx|pornographic|porn|smutty|smut|dirty|raunchy|"
            r"kinky|lewd|hardcore)(?: [a-z]+){0,2} (?:story|stories|scene|scenes|fanfic|fan fiction|fanfiction|roleplay|poem|"
            r"chat|content|erotica|smut|novel|talk|texts?|fantasy|caption|captions) ",
            r" (?:nsfw|x rated|xxx) (?:erotica|smut|story|stories|content)", r" erotica ",
            r" (?:describe|description of|write about|story about)(?: [a-z]+){0,3} (?:orgy|orgies|threesome|gangbang)",
            r" (?:sex|naked|nude|body|bodies|having sex|making love)(?: [a-z]+){0,4} in (?:graphic|explicit|erotic|vivid) detail",
            r" in (?:explicit|erotic|sexual) detail", r" talk dirty",
            r" (?:write|generate|create|make)(?: me)?(?: some| a)? (?:porn|smut|hentai|erotica) ", r" sext(?:ing)? (?:with )?me ",
            r" (?:very |highly |extremely )?(?:detailed|explicit|graphic|vivid) (?:sex|sexual|intercourse|love making)",
            r" (?:describe|write|narrate)(?: [a-z]+){0,6} (?:in a )?(?:sexy|seductive|sensual|erotic|arousing) (?:way|manner|tone|detail)",
            r" (?:strip ?tease|lap dance)(?: [a-z]+){0,4} (?:sexy|seductive|step by step|in detail)",
            r" (?:be my|act as my|roleplay as my|pretend to be my) (?:dominatrix|mistress|sex slave|sub|dom) ",
            r" (?:erotic|sexy|steamy|nsfw|dirty) (?:story|stories|fanfic|poem|scene) about (?:my |a )",
            r" (?:dirtiest|kinkiest|naughtiest) (?:sex |sexual )?(?:positions|fantasies|things)",
            r" sexual positions (?:with )?(?:vivid|graphic|explicit|detailed)",
        ]),
        _lex("S13", [
            r" (?:can|could|may|should|will) (?:now |also )?vote (?:by|via|through|over) (?:text|sms|texting|text message|phone|"
            r"twitter|tweet|email|facebook|instagram|app) ",
            r" vote online at ",
            r" (?:election|the vote|voting|polls?|election day|polling day|polling places?|polling stations?)(?: [a-z]+){0,3} "
            r"(?:has been|have been|is|are|was|were|will be) (?:moved|postponed|cancelled|canceled|rescheduled|delayed|closed|"
            r"shut down|called off)",
            r" election is (?:[a-z]+ ){0,3}when (?:its|it is) actually",
            r" (?:arrested|deported|fined|jailed|detained) (?:at|when|if they go to|if you go to) (?:the )?polls?",
            r" (?:their |your )?votes? (?:wont|will not|doesnt|does not) (?:count|be counted)",
            r" ballots? (?:will )?only (?:be )?(?:counted|count) if",
            r" non citizens?(?: [a-z]+){0,6} (?:should|can|must|are allowed to) vote",
            r" (?:democrats|republicans|liberals|conservatives|voters|independents)(?: [a-z]+){0,3} vote on (?:monday|tuesday|wednesday|"
            r"thursday|friday|saturday|sunday|a different day|the next day)",
            r" (?:emailing|email|texting|text|tweeting|posting|sending) (?:a )?(?:photo|picture|screenshot|copy) of (?:their|your|my) ballot",
            r" (?:polling (?:stations?|places?)|polls|poll workers)(?: [a-z]+){0,3} (?:will )?(?:check|checking|ask for|verify) "
            r"(?:immigration|citizenship|criminal|warrants|credit)",
            r" voters? must (?:re register|reregister|register again)(?: [a-z]+){0,4} or (?:lose|forfeit)",
            r" (?:pass|take) a literacy test to vote", r" (?:voting|vote|polls) (?:requires|require) a (?:literacy|citizenship) test",
            r" (?:fake|false|phony|fraudulent) (?:official )?(?:election|voting|ballot|polling|voter) (?:notice|information|info|"
            r"flyer|dates?|locations?|instructions)",
        ]),
        _lex("S14", [
            r" (?:run|execute|write|launch|create|start|give me|try)(?: me)?(?: a| this)? fork ?bomb",
            r" (?:opens?|spawns?|starts?|creates?|give me|runs?|gets?|pops?|establish(?:es)?) (?:a |me a )?reverse shell",
            r" (?:escape|break out of|breakout from|break out from|get out of|escape from) (?:the |this |your |my )?"
            r"(?:sandbox|container|docker container|docker|vm|virtual machine|jail|chroot|interpreter|execution environment) ",
            r" (?:escalate|elevate|gain|get) (?:my )?(?:privileges|root|root access|admin)(?: [a-z]+){0,3} (?:inside|in|on|within) "
            r"(?:the |this |your )?(?:sandbox|container|interpreter|machine|environment|host)",
            r" (?:print|dump|show|list|read|exfiltrate|send|steal|leak)(?: me)?(?: all)?(?: the)? (?:environment variables|"
            r"env vars|api keys|secrets|credentials|tokens)(?: [a-z]+){0,7} (?:interpreter|sandbox|container|webhook)",
            r" (?:until|till) (?:the )?(?:machine|server|system|sandbox|container|interpreter|it|computer|kernel|host) "
            r"(?:crashes|crash|dies|runs out|freezes|stops working)",
            r" (?:fill up|fill|exhaust|consume|use up|eat up) (?:all )?(?:the )?(?:disk|memory|ram|cpu|storage)(?: [a-z]+){0,8} "
            r"(?:so it stops|until it|stops working|crash)",
            r" (?:cat|read|print|dump|show|copy|exfiltrate|steal)(?: me)?(?: any| all| the)? (?:ssh keys|private keys|id rsa|ssh key|shadow file)",
            r" (?:mount|access|read|write to) (?:the )?host (?:filesystem|file system|disk|machine|root)",
            r" (?:infinite loop|forever|endless loop)(?: [a-z]+){0,3} (?:from |with |across )?[0-9]+ (?:threads|processes|workers)",
            r" (?:overwrite|overwrites|delete|deletes|corrupt|replace) (?:the )?(?:bin bash|bin sh|etc passwd|etc shadow|system files|"
            r"kernel|boot sector|root filesystem)",
            r" (?:your|the|this) (?:python|code|coding|code runner|code interpreter|execution) (?:tool|runner|sandbox|environment|"
            r"interpreter)(?: [a-z]+){0,4} (?:run|execute|call) (?:subprocess|os system|shell|bash)",
        ], raw=[
            ((":()",), r":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:"),
            (("rm ", "rm\t"), r"\brm\s+-(?:rf|fr|r\s+-f|f\s+-r)\s+(?:/|/\*|~|\$home)(?=[\s'\";)]|$)"),
            (("--no-preserve-root",), r"--no-preserve-root"), (("/dev/tcp/",), r"/dev/tcp/"),
            (("nc ",), r"\bnc\s+(?:-\w+\s+)*-e\s+/bin/(?:ba)?sh"), (("/etc/shadow",), r"/etc/shadow"),
            (("/proc/self/environ",), r"/proc/self/environ"), (("os.fork(",), r"os\.fork\(\)\s+for\b|while\s+(?:true|1)\s*:\s*os\.fork\("),
            (("/root",), r"\blist\s+/root\b|\bcat\s+/root/"),
        ]),
    )
}
