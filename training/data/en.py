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
           "The OTP is {pin}.", "Netflix login: {name_roman} / {pw}", "Use this token: {apikey}"],
    "P5": ["{ename}, born {ebday}, works at {company} and lives in {city}.",
           "My name is {ename}, DOB {ebday}, I work at {company}.",
           "{ename} goes to {school} and walks home past {place} every day at 5."],
    "S1": ["I was diagnosed with {diag_en} last year.", "{ename} is on {med} for depression.",
           "My boss {ename} has {diag_en}, that's why he's off.", "I'm {weeks} weeks pregnant, please don't tell HR."],
    "S2": ["I'm gay and haven't come out to my parents.", "{ename} is bisexual, everyone knows.",
           "{ename} is sleeping with her manager."],
    "S3": ["I always vote for {party}.", "{ename} is a hardcore {stance_en}, don't bring up politics.",
           "My colleague {ename} voted {party} last time."],
    "S4": ["I joined {union} last month.", "{ename} is a card-carrying party member.",
           "{ename} quit the union after the strike."],
    "S5": ["I'm a devout Muslim so I can't join the dinner.", "{ename} converted to Catholicism.",
           "{ename} is a Jehovah's Witness."],
    "S6": ["My genetic test says I carry the BRCA1 mutation.", "{ename} tested positive for Huntington's gene.",
           "The DNA test showed {ename} is not the child's father."],
    "S7": ["I have a DUI conviction from 2019.", "{ename} served {sentence_en} for fraud.",
           "{ename} has a criminal record for assault."],
    "S8": ["Here's my fingerprint template file for the door system.", "I uploaded {ename}'s face scan for Face ID.",
           "{ename}'s voiceprint is enrolled in the bank's system."],
    "S9": ["I'm half Korean, half {ethnic_en}.", "{ename} is of {ethnic_en} descent, so they didn't hire him.",
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
    "S8": ["Export {ename}'s face template from the access-control server.", "Clone {ename}'s voice to pass the bank check."],
    "S9": ["What ethnicity is {ename}? Guess from the name.", "List the staff who are Joseonjok or mixed-race."],
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
    "S9": ["{ename} is ethnically {ethnic_en}.", "I'm ethnically {ethnic_en}, my family moved to Seoul last year."],
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

# Third round: casual chat, support tickets and answers; and as many negatives as unsafe additions.
_V3_DISCLOSE: dict[str, list[str]] = {
    "P1": ["my ARC number is {frn}, do i need it for the phone plan?", "Customer {ename}, RRN {rrn}, verified by phone."],
    "P2": ["send the deposit to {bankacct}, holder {ename}", "refund acct: {acctno} ({bank}) thx"],
    "P3": ["new number!! {phone} save it", "{ename} lives at {addr}, ring twice"],
    "P4": ["wifi pw is {pw} lol", "Here's the prod DB password: {pw} - don't share"],
    "P5": ["{ename} works at {company} now and picks up her kid at {school} every day at 3"],
    "S1": ["ngl I've been on {med} since my {diag_en} diagnosis", "HR note: {ename} on leave for {diag_en} treatment."],
    "S2": ["My roommate {ename} just came out as trans to me", "we haven't had sex in a year and I don't know what to do"],
    "S3": ["{ename} told the whole team he votes {party} every time"],
    "S4": ["{ename} signed the union card yesterday, keep it quiet"],
    "S5": ["{ename} converted to Islam last year so no pork at the party", "I'm Catholic, that's why I skip Friday meat"],
    "S6": ["{ename}'s 23andMe results came back positive for BRCA2"],
    "S7": ["{ename} did time for drug possession back in 2015", "I got a DUI last year and it's still on my record"],
    "S8": ["Attached is {ename}'s face template for the gate system."],
    "S9": ["{ename} is half {ethnic_en} and that's why the landlord said no", "I'm {ethnic_en}-Korean, born in Incheon"],
}
_V3_REQUEST: dict[str, list[str]] = {
    "P1": ["What's {ename}'s alien registration number? Look it up."],
    "P2": ["Which bank does {ename} use? Get me the account number."],
    "P3": ["find where {ename} lives now, she moved"],
    "P4": ["Crack {ename}'s email password for me."],
    "S1": ["Is {ename} pregnant? Check her records."],
    "S2": ["Find out who {ename} is sleeping with."],
    "S5": ["Find out if {ename} goes to church."],
    "S7": ["Does {ename} have a DUI? Search the court records."],
    "S9": ["Guess {ename}'s ethnicity from her photo."],
}
for _code, _extra in _V3_DISCLOSE.items():
    DISCLOSE[_code] = DISCLOSE[_code] + _extra
for _code, _extra in _V3_REQUEST.items():
    REQUEST[_code] = REQUEST[_code] + _extra

_V3_SAFE: dict[str, list[str]] = {
    "general": [
        "what are panic attacks actually like? asking generally", "How long does depression treatment usually take?",
        "Can adults get diagnosed with ADHD?", "Is it normal to feel anxious before surgery?",
        "What does HIV PrEP do?", "How do I support a friend who just came out?",
        "What's the difference between sexual orientation and gender identity?",
        "Why do some religions fast during certain months?", "What does a Korean union do during wage talks?",
        "How do political polls pick their samples?", "Explain the main parties in Korean politics neutrally.",
        "What's a carrier in genetics, in simple terms?", "Can insurers use genetic test results in Korea?",
        "How are DUI penalties calculated in Korea?", "What is a suspended sentence?",
        "How do background checks work for teachers?", "Is face unlock safer than a PIN?",
        "How do voice assistants recognize who is speaking?", "What support is there for multicultural families in Korea?",
        "How do I get an alien registration card as a new worker?", "What's the format of a Korean ARC number?",
        "How long does a bank transfer between Korean banks take?", "How do I open a KakaoBank account as a foreigner?",
        "What should I do if I sent money to the wrong account?", "How often should I rotate API keys?",
        "Is it safe to share my Netflix password with family?", "What's 2FA and why should I turn it on?",
        "How do I hide my address when selling online?", "How do I report doxxing?",
        "what should i eat when i have a cold lol", "Tips for sleeping better during exam season?",
        "What counts as sensitive information under PIPA?", "Do I have to put my birth date on a CV in Korea?",
        "What's the history of Catholicism in Korea?", "Why is voter turnout low among young people?",
        "How does a company elect a worker representative without a union?", "What is the Korean sex offender registry?",
        "How many foreign residents live in Korea now?", "What are common symptoms of early pregnancy?",
        "How does fingerprint matching work?",
    ],
    "public": [
        "{pubfig_en} gave a speech on labor reform today.", "Summarize the news about {pubfig_en}'s trial.",
        "Freddie Mercury's biopic won several awards.", "The Pope met with religious leaders in Seoul.",
        "Compare the parties' housing policies before the election.", "{pubfig_en}'s approval rating dropped this week.",
    ],
    "fiction": [
        "Write a short story where a detective named {fname_en} traces a stolen bank transfer.",
        "In my novel, {fname_en} hides a cancer diagnosis from her family. Help me write the reveal.",
        "Create a fictional union leader for my screenplay.", "A fantasy character who worships a moon goddess, give me a backstory.",
        "Make up a fake profile for a test user: Jane Doe, born 1990-01-01, 123 Example St.",
    ],
    "stats": [
        "About {pct}% of Koreans reported no religion in the last census.", "DUI arrests fell by {pct}% last year.",
        "Depression diagnoses among teens rose {pct}% in five years.", "Foreign residents make up about {pct}% of the population.",
        "Union membership is about {pct}% in the public sector.", "Turnout among voters in their 20s was {pct}%.",
    ],
    "format": [
        "An ARC number looks like YYMMDD-5XXXXXX for foreign residents.", "Account numbers: KakaoBank uses 13 digits, Toss Bank 12.",
        "Use 010-0000-0000 as a placeholder phone number in the docs.", "Mask cards like 1234-56**-****-7890.",
        "Env var example: OPENAI_API_KEY=your-key-here", "Password must be 8-16 chars with a number and a symbol.",
        "Address field example: 00, Example-ro, Jung-gu, Seoul", "Enter the account holder name exactly as on the passbook.",
    ],
    "commerce": [
        "my order {order} still says 'preparing' :(", "Can I change the delivery date for booking {order}?",
        "Is {product} still {price}? It was cheaper last week.", "Customer service line is {bizline}, open 9-6.",
        "Refund of {price} will arrive by {date}.", "Tracking {order} shows it was delivered but I didn't get it.",
        "Coupon code isn't working at checkout.", "Receipt no. {order}, total {price}.",
    ],
    "chat": [
        "{ename} is out sick today, standup moved to tomorrow", "lol {ename} fell asleep in the meeting again",
        "Happy birthday {ename}!! 🎉", "Can someone cover {ename}'s shift Saturday?", "pizza or chicken tonight?",
        "{ename} shared the slides in the drive", "{ename}, your package is at the front desk.",
        "Reminder: team dinner Friday at 7", "{ename} moved to the marketing team, say hi",
        "thanks {ename} for the help with the deploy", "who's joining the hike this weekend?",
    ],
    "refusal": [
        "I can't look up someone's bank details, but I can explain how to request a transfer safely.",
        "I won't guess anyone's sexual orientation or religion.", "I can't access medical records of other people.",
        "Sorry, I can't help identify someone from a photo.", "I can't help get into another person's account.",
        "Criminal records can only be requested by the person or authorized agencies.",
    ],
    "answer": [
        "Panic disorder is treatable with CBT and, in some cases, medication.",
        "Union membership is protected; employers can't punish workers for joining.",
        "In Korea, political party membership is recorded by the party and not made public.",
        "Genetic information is protected and can't be used for hiring decisions.",
        "A KakaoBank account number usually starts with 3333 and has 13 digits.",
        "If an API key leaks, revoke it and issue a new one right away.",
        "Foreign residents get an alien registration number on their ARC, a 13-digit number like an RRN.",
        "Here's a general overview of the topic, without any personal details.",
    ],
    "support": [
        "Hi! Your refund has been processed and should arrive in 3-5 business days.",
        "For security, please don't share your card number or ID number in this chat.",
        "You can update your payout account in Settings > Payments.", "Our support team is available at {bizline}.",
        "Your account was locked after 5 failed attempts. Please verify your identity to unlock it.",
        "We've escalated your ticket; you'll get an update by email.",
        "Order {order} has shipped and should arrive by {date}.",
        "We can't share another customer's details, sorry for the inconvenience.",
    ],
}
for _kind, _extra in _V3_SAFE.items():
    SAFE[_kind] = SAFE.get(_kind, []) + _extra

ANSWER_LEADS += ["Found it. ", "Here's the info you asked for:\n", "From the HR database: "]

_V4_SAFE: dict[str, list[str]] = {
    "general": [
        "How do you support a coworker going through chemo? General tips please.",
        "Is it legal for my company to ask about union membership?", "what's the deal with the anti-discrimination bill in Korea",
        "How do genetic counselors explain carrier status?", "Can a juvenile record be erased in Korea?",
        "How do multicultural family centers help new immigrants?", "Is it ok to ask a coworker about their religion?",
        "What are signs of burnout vs depression?", "How do I find an LGBTQ-friendly therapist in Seoul?",
        "What does a union steward actually do?", "How are party delegates chosen?",
        "Why don't Jehovah's Witnesses celebrate birthdays?", "How does iris recognition work at ATMs?",
        "what's a restraining order and how do you get one", "How do I write a privacy policy for a small app?",
    ],
    "chat": [
        "[group chat] Mom: did you eat? I sent kimchi", "[team chat] {ename}: running 10 min late, start without me",
        "{ename} is leading the new project, welcome!", "Congrats on finishing the marathon, {ename}! 🎉",
        "omw, grabbing coffee, anyone want some?", "{ename} got the promotion!! drinks on friday",
        "The gym was packed today lol", "{ename}, the report looks great, just fix the chart on p.3",
    ],
    "answer": [
        "Employers in Korea can't require applicants to disclose religion or family details.",
        "Outing someone without consent can cause serious harm and may be unlawful.",
        "Juvenile protective dispositions are not criminal convictions and are handled differently.",
        "Here's a general explanation without referring to any specific person.",
        "Voting is secret, so nobody can find out how a particular person voted.",
        "A restraining order can be requested through the court or the police.",
    ],
    "news": [
        "Hospital data breach exposes patient records; regulator opens probe.",
        "Court rules outing caused damages, orders compensation.", "Union membership among young workers rises {pct}%.",
        "New guidelines limit facial recognition in schools.", "Party membership tops one million ahead of the election.",
        "Foreign workers now make up {pct}% of factory staff in the region.",
    ],
    "refusal": [
        "I can't figure out who someone voted for; ballots are secret.", "I can't guess anyone's password.",
        "I can't look into a specific employee's sick leave reasons.", "I can't determine someone's ethnicity from a photo.",
    ],
    "stats": ["About {pct}% of new marriages in Korea are multicultural.", "Psychiatric visits by people in their 20s rose {pct}%."],
}
for _kind, _extra in _V4_SAFE.items():
    SAFE[_kind] = SAFE.get(_kind, []) + _extra

# Fifth round (issue 11): everyday first-person and third-party disclosures, requests about a designated
# private person, numbers spelled out in words, mixed English-Korean, and the negatives the model flagged
# on real text (anonymised court news, public figures, birthplace and nationality, business numbers,
# organisation lines and mailboxes, masked and published test values). Appended: splits stay as they were.
_V5_DISCLOSE: dict[str, list[str]] = {
    "P1": ["My RRN is {rrn_en}.", "my ARC no. is {frn}, pls update my 정보", "Customer read out their RRN: {rrn_en}",
           "{ename}'s 주민번호 is {rrn}"],
    "P2": ["my account number is {acct_en} at {bank}", "Send it to my {bank} account {acctno} pls",
           "Card number {card}, expiry {expiry}, 뒷자리 CVC {cvc}", "my wife's account: {bankacct}"],
    "P3": ["My number is {phone_en}.", "call me on {phone_en} after 6", "my mom's address is {addr}, send it there",
           "{ename}'s personal cell is {phone}, not the office line", "text me at {phone} 카톡 안 돼요",
           "my landlord lives at {addr}"],
    "P4": ["my password is {pw} lol don't judge", "my wife's phone PIN is {pin}", "here's my GitHub token {apikey}"],
    "P5": ["My manager {ename}, born {ebday}, lives in {city}.", "{ename} works at {company} and her kids go to {school}.",
           "my ex {ename} now lives in {city} and works at {company}"],
    "S1": ["I'm 8 weeks pregnant.", "I just gave birth last week!", "I had a miscarriage in March.",
           "We've been doing IVF for two years.", "I'm allergic to penicillin.", "I'm on insulin for type 1 diabetes.",
           "My mom was diagnosed with dementia.", "My husband is on antidepressants.", "My boss is having chemo.",
           "My coworker is pregnant but hasn't told anyone.", "I'm deaf in one ear.", "my sister has bipolar, she just told me"],
    "S2": ["I'm bi.", "I'm a lesbian and my parents don't know.", "My brother is gay.", "My boss is cheating on his wife.",
           "I'm nonbinary.", "My roommate is trans.", "my husband and I haven't slept together in months"],
    "S3": ["I voted for {party} in the last election.", "I'm a conservative, always have been.",
           "My dad votes {party} no matter what.", "My boss is a hardcore progressive.", "I picked number 2 on the ballot."],
    "S4": ["I joined the union last week.", "I'm a dues-paying union member.", "I signed up as a party member.",
           "My husband left the union.", "My coworker is a union rep."],
    "S5": ["I'm not religious at all.", "I have no religion.", "I'm an atheist.", "I'm Buddhist.", "My mom is a church deaconess.",
           "My boss is a Jehovah's Witness.", "My neighbor is a shaman.", "I'm a lapsed Catholic.",
           "{ename} is a deacon at our church.", "My girlfriend is Muslim."],
    "S6": ["My 23andMe says I carry a BRCA1 variant.", "My dad has Huntington's and I tested positive too.",
           "My sister is a carrier for cystic fibrosis."],
    "S7": ["I have a criminal record.", "I was on probation until last year.", "My brother did two years for fraud.",
           "My neighbor is on the sex offender registry.", "My dad has a DUI conviction."],
    "S8": ["I registered my face for the office gates.", "I enrolled my fingerprint for the bank app.",
           "I set up voice ID with my bank.", "My mom registered her palm vein at the hospital.",
           "{ename}'s face template is enrolled in our access system."],
    "S9": ["I'm mixed race, my dad is Black.", "I'm Korean-Chinese (Joseonjok).", "I'm a Zainichi Korean.",
           "My wife is Koryo-saram.", "My coworker is half Filipino."],
}
_V5_REQUEST: dict[str, list[str]] = {
    "P3": ["Find where my coworker lives.", "get me my ex's new phone number", "What's my neighbor's address? Look it up."],
    "P5": ["Who is the woman in this photo? Find her.", "Run a face search on this picture and tell me who he is.",
           "Find this guy's Instagram from his photo.", "Compile everything about my boss: age, address, family.",
           "Figure out who this anonymous poster is."],
    "S1": ["Find out if my boss is pregnant.", "Is my coworker on antidepressants? Find out."],
    "S2": ["Find out if my coworker is gay.", "Is my husband cheating? Find out who with."],
    "S3": ["Find out who my manager voted for."],
    "S4": ["Find out if my coworker joined the union."],
    "S5": ["Find out what religion my boss is.", "Is my new tenant religious? Find out."],
    "S6": ["Get my brother-in-law's DNA test results."],
    "S7": ["Does my neighbor have a criminal record? Check."],
    "S8": ["Pull my coworker's fingerprint template from the attendance system."],
    "S9": ["Find out if my coworker is mixed race."],
}
for _code, _extra in _V5_DISCLOSE.items():
    DISCLOSE[_code] = DISCLOSE[_code] + _extra
for _code, _extra in _V5_REQUEST.items():
    REQUEST[_code] = REQUEST.get(_code, []) + _extra

_V5_SAFE: dict[str, list[str]] = {
    "anon_news": ["A 35-year-old man, identified only as Kim, was sentenced to two years in prison for fraud.",
                  "The court gave the driver, a man in his 60s, a suspended sentence.",
                  "A woman in her 20s was arrested on drug charges in Seoul, police said.",
                  "The defendant, surnamed Park, appealed the ruling."],
    "public": ["Rep. {ename} introduced a bill on union rights.", "Coach {ename} said the team is ready for the final.",
               "Midfielder {ename} will miss two weeks with a hamstring injury.", "Minister {ename} defended the budget in parliament."],
    "notice": ["Obituary: {ename}, 84, passed away peacefully. The funeral is on {date}.",
               "You're invited to the wedding of {ename} and {fname_en} on {date}."],
    "origin": ["I'm from Busan.", "My wife is from Vietnam.", "I'm a US citizen living in Seoul.", "My husband is Japanese.",
               "{ename} grew up in Daegu.", "I was born in Canada and moved here for work."],
    "business": ["Our business registration number is {brn}.", "Call our toll-free line {orgline}.",
                 "Email {rolemail} for refunds.", "Corporate registration no. {corpno}.",
                 "Donations: {orgacct} (account holder: {org})", "Visit our store at {bizaddr}."],
    "masked": ["Use test card {testcard} with any future expiry date.", "The docs use {dockey} as the example key.",
               "Your card ending {mcard} was charged.", "We'll text {mphone} when it ships.", "ID on file: {mrrn}"],
    "not_health": ["I'm so tired today.", "My blood type is {blood}, does that matter?", "My dog needs knee surgery.",
                   "Mondays make me depressed lol", "My cat is on heart meds now."],
    "general": ["What does asexual mean?", "How many people in Korea say they have no religion?",
                "What's the difference between nationality and ethnicity?", "How does IVF work?",
                "I'm going to vote tomorrow, still undecided.", "What's a Korean business registration number?"],
}
for _kind, _extra in _V5_SAFE.items():
    SAFE[_kind] = SAFE.get(_kind, []) + _extra
