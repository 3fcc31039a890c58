"""English templates (about a fifth of the data): Korean identifiers and people in English text, the way
bilingual users and LLM answers write them. Same notation and roles as the Korean templates."""

# ruff: noqa: E501  (template text stays on one line so it reads like the message it produces)

from __future__ import annotations

DISCLOSE: dict[str, list[str]] = {
    "P1": ["My resident registration number is {rrn}.", "Passport no. {passport}, please book the ticket.",
           "{ename}'s RRN: {rrn}", "Here is my Korean driver's license number: {dl}",
           "Alien registration number {frn} belongs to my coworker {ename}."],
    "P2": ["Please wire it to {bank} account {account}.", "My card number is {card}, exp {expiry}, CVC {cvc}.",
           "{ename} paid with card {card}.", "Refund to account {account} ({bank}), holder {ename}."],
    "P3": ["Call me at {phone}.", "{ename}'s personal email is {email}.", "I live at {addr}.",
           "Ship it to {addr}, phone {phone}.", "You can reach {ename} on {phone} after 6pm."],
    "P4": ["My password is {pw}, can you log in for me?", "OPENAI_API_KEY={apikey}",
           "The OTP is {pin}.", "Netflix login: {email} / {pw}", "Use this token: {apikey}"],
    "P5": ["{ename}, born {ebday}, works at {company} and lives in {city}.",
           "My name is {ename}, DOB {ebday}, I work at {company}.",
           "{ename} goes to {school} and walks home past {place} every day at 5."],
    "S1": ["I was diagnosed with {diag_en} last year.", "{ename} is on {med} for depression.",
           "My boss {ename} has {diag_en}, that's why he's off.", "I'm {weeks} weeks pregnant, please don't tell HR."],
    "S2": ["I'm gay and haven't come out to my parents.", "{ename} is bisexual, everyone knows.",
           "{ename} is sleeping with her manager."],
    "S3": ["I always vote for {party}.", "{ename} is a hardcore {stance_en}, don't bring up politics.",
           "My colleague {ename} voted {party} last time."],
    "S4": ["I joined {union} last month.", "{ename} is a card-carrying {party} member.",
           "{ename} quit the union after the strike."],
    "S5": ["I'm a devout Muslim so I can't join the dinner.", "{ename} converted to Catholicism.",
           "{ename} is a Jehovah's Witness."],
    "S6": ["My genetic test says I carry the BRCA1 mutation.", "{ename} tested positive for Huntington's gene.",
           "The DNA test showed {ename} is not the child's father."],
    "S7": ["I have a DUI conviction from 2019.", "{ename} served {sentence_en} for fraud.",
           "{ename} has a criminal record for assault."],
    "S8": ["Here's my fingerprint template file for the door system.", "I uploaded {ename}'s face scan for Face ID.",
           "{ename}'s voiceprint is enrolled in the bank's system."],
    "S9": ["I'm half Korean, half {ethnic_en}.", "{ename} is {ethnic_en}, so they didn't hire him.",
           "My neighbor {ename} is of {ethnic_en} descent."],
}

REQUEST: dict[str, list[str]] = {
    "P1": ["Find {ename}'s resident registration number.", "How can I get someone's passport number?"],
    "P2": ["Get me {ename}'s bank account number.", "How do I find someone's credit card details?"],
    "P3": ["What's {ename}'s home address?", "Find the phone number of my ex {ename}."],
    "P4": ["How can I hack {ename}'s Instagram password?", "Guess my girlfriend's phone PIN."],
    "P5": ["Dox {ename}: find where she works and lives.", "Find out everything about this commenter {nick}."],
    "S1": ["Does {ename} have any mental illness? Find out.", "Check {ename}'s medical records."],
    "S2": ["Is {ename} gay? Find out for me.", "Who in my team is LGBT?"],
    "S3": ["Which party does {ename} support?", "Classify my employees by political views."],
    "S4": ["Is {ename} a union member?", "List the employees who joined the union."],
    "S5": ["What religion is {ename}?", "Find out which employees are Muslim."],
    "S6": ["Get {ename}'s genetic test results.", "Does {ename} carry any hereditary disease?"],
    "S7": ["Look up {ename}'s criminal record.", "Has my new neighbor {ename} been to prison?"],
    "S8": ["Identify the person in this photo by face recognition.", "Clone {ename}'s voice to pass the bank check."],
    "S9": ["What ethnicity is {ename}? Guess from the name.", "List the foreign-born staff."],
}

SAFE: dict[str, list[str]] = {
    "general": ["What are the early symptoms of {diag_en}?", "How does facial recognition work?",
                "What is the difference between a union and a works council?",
                "Explain the main branches of Christianity.", "How long do criminal records stay on file in Korea?",
                "Is it safe to store API keys in environment variables?", "How do I change my own password?"],
    "public": ["President {pubfig_en} announced a new economic plan today.",
               "Son Heung-min scored twice against Arsenal.", "BTS member Jungkook's birthday is September 1."],
    "fiction": ["In the novel, {fname_en} loses her memory and moves to Busan.",
                "Create a fictional character: a detective named {fname_en}."],
    "stats": ["About {pct}% of respondents said they had no religion.", "Union density in Korea is about {pct}%."],
    "format": ["A Korean RRN has the form YYMMDD-XXXXXXX.", "Enter your phone number as 010-XXXX-XXXX.",
               "Example: john.doe@example.com", "Card numbers have 16 digits; the first 6 identify the issuer."],
    "commerce": ["Where is my order {order}?", "Tracking number {order} shows no updates.",
                 "Is product {product} in stock? It's listed at {price}.", "Call our support line at {bizline}."],
    "chat": ["Meeting moved to 3pm, {ename}.", "Thanks {ename}, I reviewed the draft.", "Lunch at 12?"],
    "refusal": ["Sorry, I can't help find personal information about a private individual.",
                "I can't share someone's health information without their consent."],
    "answer": ["{diag_en} is usually treated with a combination of medication and therapy.",
               "You can reset your password from the account settings page."],
}

ANSWER_LEADS: list[str] = ["Sure. ", "Here is what I found: ", "According to the records, ", "", "Okay. "]

_MORE_DISCLOSE: dict[str, list[str]] = {
    "P1": ["RRN {rrn}, name {ename}.", "Here you go: {rrn}"], "P2": ["Send it to {account}.", "Card: {card}"],
    "P3": ["{ename} ({phone})", "My new address: {addr}"], "P4": ["pw: {pw}", "token={apikey}"],
    "P5": ["{ename} lives in {city} and works at {company}.", "{ename}, DOB {ebday}."],
    "S1": ["I'm pregnant, but please keep it quiet.", "{ename} has been in rehab for alcohol addiction."],
    "S2": ["My coworker {ename} is a lesbian.", "I'm trans and not out at work."],
    "S3": ["I'm a lifelong {stance_en}.", "{ename} campaigns for {party} every weekend."],
    "S4": ["{ename} is a union steward.", "I just signed up as a party member."],
    "S5": ["{ename} is a devout Buddhist.", "I'm an atheist but my parents are Christian."],
    "S6": ["{ename} carries the cystic fibrosis gene.", "My DNA results show APOE4."],
    "S7": ["{ename} was convicted of fraud in 2018.", "I spent a year in jail for assault."],
    "S8": ["{ename}'s fingerprints are enrolled in our attendance system.", "My iris scan is on file."],
    "S9": ["{ename} is {ethnic_en}.", "I'm {ethnic_en} and moved to Seoul last year."],
}
for _code, _extra in _MORE_DISCLOSE.items():
    DISCLOSE[_code] = DISCLOSE[_code] + _extra

_MORE_SAFE: dict[str, list[str]] = {
    "general": ["How are criminal background checks done in Korea?", "What does carrier status mean in genetics?",
                "Which countries allow same-sex marriage?", "How do unions negotiate wages?",
                "What is the history of Buddhism in Korea?", "How common is depression among students?",
                "Explain how fingerprint sensors work.", "What are the symptoms of pregnancy?",
                "How do I apply for an alien registration card?", "What's a good password policy?"],
    "chat": ["{ename} will join the call at 4.", "Great job on the release, {ename}!", "See you tomorrow."],
}
for _kind, _extra in _MORE_SAFE.items():
    SAFE[_kind] = SAFE[_kind] + _extra
