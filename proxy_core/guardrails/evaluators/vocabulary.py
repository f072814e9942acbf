"""The building blocks of the built-in lexicon's phrases: word lists and small regex helpers.

All are written for the *words* view of :mod:`~proxy_core.guardrails.evaluators.normalize`
(lower case, no apostrophes, single spaces), so ``someone's`` is ``someones`` and ``I'm`` is ``im``.
"""

from __future__ import annotations

__all__ = [
    "gap", "one_of", "REQ", "REQUEST_LEAD", "PERSON", "NOT_HARMLESS_AFTER_PERSON", "VIOLENT_VERB", "ANIMAL",
    "OTHER_OWNER", "DRUG", "EXPLOSIVE", "CBRN", "PATHOGEN", "GROUP", "DEHUMAN", "MINOR", "SEXUAL", "MEDS",
]

_W = r"[a-z0-9]+"


def gap(n: int) -> str:
    """Up to ``n`` words (each with its leading space)."""
    return rf"(?: {_W}){{0,{n}}}"


def one_of(*phrases: str) -> str:
    return "(?:" + "|".join(phrases) + ")"


# A request or a statement of intent ("how do I", "help me", "I'm going to", …).
REQ = one_of(
    r"how (?:do|can|could|would|should|might|will|to|would|does one)",
    r"how i (?:can|could)", r"ways? (?:to|of)", r"steps? (?:to|for)", r"teach me", r"show me", r"tell me",
    r"explain how", r"help me", r"instructions", r"guide (?:to|for|on)", r"tutorial", r"tips (?:for|on|to)",
    r"(?:the )?(?:best|easiest|quickest|fastest|simplest|safest|surest|cheapest|most effective|least painful|"
    r"most painless|painless|good) (?:way|ways|place|spot|method|methods|time|tool|weapon)s?",
    r"i (?:want|need|plan|intend|am going|am about|would like|wish) to", r"i wanna", r"i will", r"ill",
    r"im (?:going|about|planning|trying) to", r"im gonna", r"i am gonna", r"(?:i am|im) planning",
    r"planning to", r"plan to", r"trying to", r"give me", r"where (?:can|do|should|could) (?:i|we|you)",
    r"where to", r"what (?:[a-z]+ ){0,2}(?:can|should|could|do) (?:i|we)", r"can you", r"could you",
    r"is there a way to", r"any way to", r"whats the (?:best|easiest|quickest|fastest)",
    r"write (?:me )?(?:a |an )?(?:guide|tutorial|plan|script|program|code|steps?)",
)

REQUEST_LEAD = rf" {REQ}{gap(6)}"
"""A request, then up to six words, before a ``requests`` phrase."""

PERSON = one_of(
    r"someone", r"somebody", r"anyone", r"a person", r"people", r"him", r"her", r"them", r"everyone",
    r"(?:a|the|that|this) (?:man|woman|guy|girl|boy|kid|child|baby|cop|police officer|stranger|homeless (?:man|person|guy)|"
    r"president|senator|mayor|politician|judge|witness|guard|teacher|neighbou?r)",
    r"(?:my|our|his|her|their|the) (?:wife|husband|boss|neighbou?rs?|mother|father|mom|mum|dad|stepdad|stepmom|"
    r"stepfather|stepmother|step dad|step mom|brother|sister|little brother|little sister|baby brother|baby sister|"
    r"teacher|ex|ex wife|ex husband|ex girlfriend|ex boyfriend|girlfriend|boyfriend|coworkers?|co worker|roommate|"
    r"family|son|daughter|baby|partner|landlord|classmates?|friend|uncle|aunt|grandma|grandmother|grandpa|"
    r"grandfather|cousin|manager|kids|children|students?|pastor|priest|rival)",
)
# What follows a person that makes the act harmless: a process, a game, a message, feelings.
NOT_HARMLESS_AFTER_PERSON = (
    r"(?! (?:process|processes|thread|threads|task|node|element|component|window|tab|pid|job))"
    r"(?! (?:at|in) (?:a |the )?(?:chess|game|games|race|match|tennis|cards|poker|arm wrestling|checkers))"
    r"(?! (?:a|an) (?:message|text|email|dm|note|line|quick|call))(?! feelings| up )"
)
VIOLENT_VERB = one_of(
    "kill", "murder", "assassinate", "strangle", "choke", "stab", "poison", "shoot", "kidnap", "abduct",
    "torture", "beat up", "beat", "maim", "drown", "suffocate", "smother", "behead", "hurt", "injure",
    "attack", "hit", "run over", "set fire to", "burn", "slit the throat of", "cripple", "execute",
)
ANIMAL = r"(?:[a-z]+s )?(?:cat|cats|dog|dogs|puppy|puppies|kitten|kittens|pet|pets|animal|animals|horse|horses)"
OTHER_OWNER = one_of(
    "someones", "somebodys", "someone elses", "other peoples", "another persons", "his", "her", "their",
    r"a (?:strangers|celebritys|neighbou?rs|coworkers|classmates)", r"the neighbou?rs",
    r"my (?:ex|exs|ex girlfriends|ex boyfriends|ex wifes|ex husbands|wifes|husbands|girlfriends|boyfriends|"
    r"partners|boss|bosss|neighbou?rs|sisters|brothers|moms|dads|coworkers|roommates|teachers|friends|kids|classmates)",
)
DRUG = one_of(
    "meth", "methamphetamine", "crystal meth", "crack cocaine", "cocaine", "heroin", "fentanyl", "lsd", "mdma",
    "ecstasy", "ghb", "ketamine", "pcp", "dmt", "magic mushrooms", "shrooms", "opium",
)
EXPLOSIVE = one_of(
    r"pipe bombs?", r"(?<!bath )(?<!seed )(?<!photo )(?<!glitter )(?<!calorie )(?<!yarn )bombs?", r"ieds?",
    r"explosives?", r"grenades?", r"molotov(?: cocktails?)?", r"napalm", r"thermite bombs?", r"dirty bombs?",
    r"nuclear (?:bomb|weapon|device)s?", r"nukes?", r"atomic bombs?", r"car bombs?", r"suicide vests?",
    r"detonators?", r"tnt", r"c4", r"semtex", r"tatp", r"anfo", r"fertili[sz]er bombs?",
)
CBRN = one_of(
    r"sarin", r"vx", r"(?:vx )?nerve (?:agent|gas)s?", r"mustard gas", r"chlorine gas", r"phosgene", r"tabun",
    r"soman", r"novichok", r"anthrax(?: spores)?", r"ricin", r"botulinum(?: toxin)?", r"smallpox",
    r"bio ?weapons?", r"biological weapons?", r"chemical weapons?", r"radiological weapons?",
    r"weapons grade (?:uranium|plutonium)",
)
PATHOGEN = r"(?:a |the |this )?(?:virus|viruses|pathogen|pathogens|bacteria|plague|ebola|bird flu|h5n1|toxin)"
GROUP = one_of(
    "jews", "jewish people", "muslims", "muslim people", "muslim men", "muslim women", "jewish men", "christians", "hindus", "sikhs", "buddhists", "atheists",
    "catholics", "mormons", "arabs", "arab people", "blacks", "black people", "black men", "black women",
    "white people", "whites", "asians", "asian people", "chinese people", "indians", "mexicans", "latinos",
    "hispanics", "africans", "immigrants", "illegal immigrants", "illegals", "refugees", "migrants", "foreigners",
    "gays", "gay people", "gay men", "lesbians", "homosexuals", "queers", "trans people", "transgender people",
    "trans women", "trans men", "transgenders", "bisexuals", "disabled people", "the disabled", "autistic people",
    "women", "females", "gypsies", "roma", "the roma", "romani", "palestinians", "israelis", "pakistanis",
    "nigerians", "somalis", "indigenous people", "native americans", "aboriginals",
)
DEHUMAN = one_of(
    "vermin", "subhuman", "sub human", "animals", "savages", "parasites", "cockroaches", "rats", "apes",
    "monkeys", "pigs", "filth", "scum", "a disease", "a plague", "a cancer", "inferior", "an inferior race",
    "genetically inferior", "less than human", "not human", "mentally ill freaks", "freaks", "degenerates",
    "evil", "greedy", "stupid", "too stupid", "dirty", "lazy", "criminals", "rapists", "terrorists", "thieves",
    "a burden", "pedophiles", "perverts", "worthless",
)
MINOR = one_of(
    r"(?:young |little )?teens", r"child", r"children", r"kid", r"kids", r"minor", r"minors", r"underage", r"under age", r"preteens?",
    r"pre teens?", r"little (?:girl|boy)s?", r"young (?:girl|boy)s?", r"toddlers?", r"schoolgirls?", r"schoolboys?",
    r"(?:[1-9]|1[0-7]) ?(?:year|yr)s? ?olds?", r"(?:[1-9]|1[0-7]) ?yo",
    r"(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen) years? olds?",
)
SEXUAL = (
    r"(?:sex(?! education| ed| trafficking)|sexual(?! abuse| exploitation| assault| predators?| offenders?| health|"
    r" education| development)|sexy|nude|nudes|naked(?! eye)|porn|porno|pornographic|erotic|erotica|explicit|"
    r"nsfw|lewd|seduce|orgasm|intercourse|xxx)"
)
MEDS = one_of(
    "insulin", "chemo", "chemotherapy", "antidepressants", "meds", "medication", "medications", "medicine",
    "blood thinners", "warfarin", "heart medication", "antipsychotics", "lithium", "seizure medication",
    "hiv medication", "antiretrovirals", "inhaler",
)
