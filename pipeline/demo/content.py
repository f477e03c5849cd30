"""The words of the demo company: its sales processes with real coaching, teams, people, company
and contact names, deal names, notes and activity subjects.

Shared by the demo seed (`pipeline.demo.build`, through the services) and the bulk generator of
the benchmarks (`bench/bulkdata.py`, with COPY), so both describe the same company.
"""

PASSWORD = "lockstep-demo"

# --- Sales processes --------------------------------------------------------------------------
# typical_days: how long a healthy deal usually sits in the stage (calendar days); the
# generator scatters real dwell times around it. next_steps: commitments a seller makes there
# ({c} is a buyer's first name, {dept} a department).

PROCESSES = [
    {
        "name": "New business",
        "description": (
            "Winning a first contract with a company that is not yet a customer, from the first "
            "qualified conversation to the signature."
        ),
        "share": 0.75,
        "stages": [
            {
                "name": "Qualify",
                "objective": "Confirm there is a real problem, someone who owns it and a reason to act this year.",
                "guidance": (
                    "Most lost deals were never real deals: qualify hard before you invest weeks. Ask what "
                    "happens if they do nothing, and who loses sleep over it. If nobody can name a budget "
                    "holder or a date that matters, park the deal politely and nurture the account instead."
                ),
                "win_probability": 10,
                "forecast_category": "pipeline",
                "stuck_after_days": 14,
                "idle_after_days": 7,
                "slip_push_limit": 2,
                "typical_days": 8,
                "milestones": [
                    (
                        "Pain confirmed by the buyer",
                        "The buyer described the problem in their own words, and what it costs them today.",
                        True,
                    ),
                    (
                        "Budget owner identified",
                        "We know who would sign off the spend, even if we have not met them yet.",
                        True,
                    ),
                    (
                        "Reason to act this year",
                        "A compelling event (renewal, audit, growth target) makes doing nothing expensive.",
                        True,
                    ),
                    (
                        "Intro meeting with a senior sponsor",
                        "Someone at director level or above has given us 30 minutes.",
                        False,
                    ),
                ],
                "next_steps": [
                    "Book discovery call with {c}",
                    "Send intro deck and proposed agenda to {c}",
                    "Ask {c} who owns the budget",
                    "Confirm timeline and compelling event with {c}",
                ],
            },
            {
                "name": "Discover",
                # Warned, not enforced: the demo's deals are built through the gated services.
                "buying_roles": [("economic_buyer", "warn")],
                "objective": "Understand today's process, the cost of the problem and how they will decide.",
                "guidance": (
                    "Talk to the people who do the work, not only the sponsor. Quantify the problem in "
                    "hours, errors or revenue, and write the success criteria down with the buyer so the "
                    "demo can prove them. Map the decision: who signs, who can veto, which steps "
                    "procurement and security need, and how long each one takes."
                ),
                "win_probability": 20,
                "forecast_category": "pipeline",
                "stuck_after_days": 21,
                "idle_after_days": 10,
                "slip_push_limit": 2,
                "typical_days": 14,
                "milestones": [
                    (
                        "Discovery held with the main user group",
                        "At least one session with the people who will use the product every day.",
                        True,
                    ),
                    (
                        "Success criteria written down and agreed",
                        "A short list the buyer agreed to; the demo and the proposal refer to it.",
                        True,
                    ),
                    (
                        "Decision process mapped",
                        "Signers, vetoes, procurement and security steps, and their dates.",
                        True,
                    ),
                    (
                        "Competitors in the deal identified",
                        "We know who else they talk to, including building it themselves.",
                        False,
                    ),
                ],
                "next_steps": [
                    "Run discovery workshop with the {dept} team",
                    "Send discovery recap and draft success criteria to {c}",
                    "Map the decision process with {c}",
                    "Get current-process numbers from {c}",
                ],
            },
            {
                "name": "Demonstrate",
                "objective": "Prove, against their own success criteria, that the product solves the problem.",
                "guidance": (
                    "Never give the standard demo: show their data, their process and their success "
                    "criteria, in that order. Let the champion present part of it internally; if they "
                    "cannot, they are not yet a champion. Close every technical question in writing, "
                    "because open questions resurface at the signature."
                ),
                "win_probability": 40,
                "forecast_category": "pipeline",
                "stuck_after_days": 21,
                "idle_after_days": 10,
                "slip_push_limit": 2,
                "typical_days": 15,
                "milestones": [
                    (
                        "Tailored demo delivered",
                        "Demo built on their success criteria, attended by the users and the sponsor.",
                        True,
                    ),
                    (
                        "Technical evaluation passed",
                        "IT or the evaluators confirmed in writing that it fits their stack.",
                        True,
                    ),
                    (
                        "Champion confirmed",
                        "Someone inside sells for us when we are not in the room, and has proven it.",
                        True,
                    ),
                    ("Reference call offered", "We offered a conversation with a similar customer.", False),
                ],
                "next_steps": [
                    "Tailored demo for {c} and the {dept} team",
                    "Set up the trial workspace for the technical evaluation",
                    "Answer the security questionnaire",
                    "Arrange a reference call for {c}",
                ],
            },
            {
                "name": "Propose",
                # Warned, not enforced: the demo's deals are built through the gated services.
                "buying_roles": [("champion", "warn")],
                "objective": "Put a proposal in front of the economic buyer that they agree is worth the price.",
                "guidance": (
                    "Present the proposal live to the economic buyer; a PDF in an inbox is not a proposal. "
                    "Lead with the business case from discovery, then scope, then price. Agree the "
                    "mutual plan to signature before you leave the meeting, with dates owned by them."
                ),
                "win_probability": 60,
                "forecast_category": "best_case",
                "stuck_after_days": 21,
                "idle_after_days": 10,
                "slip_push_limit": 2,
                "typical_days": 12,
                "milestones": [
                    ("Proposal presented to the economic buyer", "Walked through live, not just sent.", True),
                    ("Business case agreed", "The economic buyer agrees the value outweighs the cost.", True),
                    ("Mutual plan to signature shared", "Dated steps to signature, owned by both sides.", False),
                ],
                "next_steps": [
                    "Walk {c} through the proposal",
                    "Send revised pricing to {c}",
                    "Review the business case with their CFO",
                    "Agree the mutual plan to signature with {c}",
                ],
            },
            {
                "name": "Negotiate",
                "objective": "Agree commercial and legal terms without giving away value.",
                "guidance": (
                    "Trade, never give: every concession buys something (term, volume, timing, a case "
                    "study). Start legal and security reviews early, because they take longer than "
                    "anyone says. Keep your manager informed before you discount; surprises at the end "
                    "of the quarter are expensive."
                ),
                "win_probability": 75,
                "forecast_category": "best_case",
                "stuck_after_days": 21,
                "idle_after_days": 10,
                "slip_push_limit": 2,
                "typical_days": 12,
                "milestones": [
                    ("Legal and security review started", "Their legal and security teams have our paperwork.", True),
                    ("Commercial terms agreed", "Price, term and payment agreed with the economic buyer.", True),
                    ("Procurement steps known", "Vendor onboarding and purchase order process are clear.", False),
                ],
                "next_steps": [
                    "Send the redlined MSA back to procurement",
                    "Call with their legal team on the liability cap",
                    "Confirm the final discount with my manager",
                    "Agree payment terms with {c}",
                ],
            },
            {
                "name": "Commit",
                "objective": "Get the signature on the date the buyer committed to.",
                "guidance": (
                    "Only deals with a confirmed signature route and date belong here; this stage is "
                    "your commit forecast. Confirm who signs, in which tool, and who is away that week. "
                    "Plan the kickoff now so the customer sees life after signature."
                ),
                "win_probability": 90,
                "forecast_category": "commit",
                "stuck_after_days": 14,
                "idle_after_days": 7,
                "slip_push_limit": 1,
                "typical_days": 7,
                "milestones": [
                    ("Signature route and date confirmed", "The economic buyer confirmed who signs and when.", True),
                    ("Order form sent for signature", "The final order form is in their signing tool.", True),
                    ("Kickoff date planned", "A kickoff is pencilled in with the customer's project lead.", False),
                ],
                "next_steps": [
                    "Confirm the signature date with {c}",
                    "Send the order form for signature",
                    "Plan the kickoff with {c}",
                    "Chase the countersignature",
                ],
            },
        ],
    },
    {
        "name": "Expansion",
        "description": "Growing an existing customer: more seats, another team, another module.",
        "share": 0.25,
        "stages": [
            {
                "name": "Identify",
                "objective": "Spot a concrete reason for the customer to buy more.",
                "guidance": (
                    "The best expansion signals are in usage: teams hitting limits, new sites, a new "
                    "sponsor. Agree with customer success before you call, so the customer hears one "
                    "voice. An unhappy customer is not an expansion opportunity; fix that first."
                ),
                "win_probability": 20,
                "forecast_category": "pipeline",
                "stuck_after_days": 21,
                "idle_after_days": 10,
                "slip_push_limit": 2,
                "typical_days": 10,
                "milestones": [
                    ("Expansion trigger identified", "A new team, site, module need or usage limit.", True),
                    ("Usage and health reviewed", "Adoption is healthy and there are no open escalations.", True),
                    ("Customer success aligned", "The customer success manager supports the approach.", False),
                ],
                "next_steps": [
                    "Review the usage report with {c}",
                    "Ask {c} about the {dept} team's plans",
                    "Align with customer success before calling {c}",
                ],
            },
            {
                "name": "Validate",
                # Warned, not enforced: the demo's deals are built through the gated services.
                "buying_roles": [("economic_buyer", "warn")],
                "objective": "Confirm the new use case, its sponsor and its budget.",
                "guidance": (
                    "Summarise the value already delivered in numbers the sponsor cares about, then "
                    "ask what the next team would gain. A new department means a new decision process: "
                    "map it as carefully as in a first sale."
                ),
                "win_probability": 45,
                "forecast_category": "pipeline",
                "stuck_after_days": 21,
                "idle_after_days": 10,
                "slip_push_limit": 2,
                "typical_days": 12,
                "milestones": [
                    ("New use case confirmed with the sponsor", "The sponsor agrees what the expansion is for.", True),
                    ("Value delivered so far summarised", "A one-page summary of results to date.", True),
                    ("Budget for the expansion confirmed", "Money exists this year, or at renewal.", True),
                ],
                "next_steps": [
                    "Value review meeting with {c}",
                    "Confirm the expansion budget with {c}",
                    "Send the results summary to {c}",
                ],
            },
            {
                "name": "Propose",
                # Warned, not enforced: the demo's deals are built through the gated services.
                "buying_roles": [("champion", "warn")],
                "objective": "Agree scope and price of the expansion.",
                "guidance": (
                    "Price the expansion against the value summary, not against the original discount. "
                    "Align it with the renewal date where you can: one signature is easier than two."
                ),
                "win_probability": 70,
                "forecast_category": "best_case",
                "stuck_after_days": 21,
                "idle_after_days": 10,
                "slip_push_limit": 2,
                "typical_days": 10,
                "milestones": [
                    ("Expansion quote sent", "Scope, price and start date in writing.", True),
                    ("Renewal alignment agreed", "Co-terming with the existing contract agreed or ruled out.", False),
                ],
                "next_steps": [
                    "Send the expansion quote to {c}",
                    "Align the expansion with the renewal date",
                    "Walk {c} through the quote",
                ],
            },
            {
                "name": "Close",
                "objective": "Get the expansion signed and provisioned.",
                "guidance": (
                    "Confirm the signer and the purchase order process, which often differ from the "
                    "first purchase. Agree the provisioning date so the new team starts with a plan."
                ),
                "win_probability": 90,
                "forecast_category": "commit",
                "stuck_after_days": 14,
                "idle_after_days": 7,
                "slip_push_limit": 1,
                "typical_days": 7,
                "milestones": [
                    ("Signature and purchase order route confirmed", "Signer and PO process known and dated.", True),
                    ("Provisioning plan agreed", "Start date and onboarding plan for the new users.", False),
                ],
                "next_steps": [
                    "Send the order form for signature",
                    "Confirm the provisioning date with {c}",
                    "Chase the purchase order",
                ],
            },
        ],
    },
]

WAITING_STEPS = [
    "Waiting on buyer",
    "Waiting on their legal review",
    "Waiting for budget approval",
    "Waiting on their security team",
    "Waiting for their board meeting",
]

# --- Teams and people -------------------------------------------------------------------------

TEAMS = ["Enterprise", "Mid-Market", "Growth"]

# username, first, last, role, team (index into TEAMS or None), managed teams
USERS = [
    ("rep", "Riley", "Parker", "rep", 0, ()),
    ("rep2", "Sofia", "Marin", "rep", 1, ()),
    ("rep3", "Daniel", "Okafor", "rep", 2, ()),
    ("priya", "Priya", "Raman", "rep", 0, ()),
    ("jonas", "Jonas", "Becker", "rep", 0, ()),
    ("lena", "Lena", "Fischer", "rep", 1, ()),
    ("marco", "Marco", "Rossi", "rep", 1, ()),
    ("aisha", "Aisha", "Bello", "rep", 2, ()),
    ("tom", "Tom", "Gallagher", "rep", 2, ()),
    ("manager", "Morgan", "Hayes", "manager", 0, (0, 1)),
    ("manager2", "Camille", "Laurent", "manager", 2, (2,)),
    ("admin", "Alex", "Admin", "admin", None, ()),
]

# --- Companies ----------------------------------------------------------------------------------

NAME_HEADS = [
    "North",
    "Blue",
    "Silver",
    "Iron",
    "Bright",
    "Stone",
    "Oak",
    "Red",
    "Clear",
    "Swift",
    "Green",
    "High",
    "True",
    "Deep",
    "Far",
    "Sun",
    "Star",
    "Wolf",
    "Fox",
    "Hawk",
    "Cedar",
    "Maple",
    "River",
    "Lake",
    "Harbor",
    "Summit",
    "Pine",
    "Granite",
    "Copper",
    "Amber",
    "Crystal",
    "Falcon",
    "Eagle",
    "Lion",
    "Bear",
    "Arrow",
    "Anchor",
    "Beacon",
    "Cobalt",
    "Coral",
    "Delta",
    "Echo",
    "Ember",
    "Frost",
    "Golden",
    "Horizon",
    "Indigo",
    "Juniper",
    "Keystone",
    "Lumen",
    "Meridian",
    "Nova",
    "Orbit",
    "Peak",
    "Quarry",
    "Rapid",
    "Sterling",
    "Tidal",
    "Vertex",
    "Willow",
    "Zenith",
    "Alder",
    "Birch",
    "Cliff",
    "Dune",
    "Elm",
    "Fjord",
    "Glen",
    "Heath",
    "Isle",
    "Kestrel",
    "Linden",
    "Moor",
    "Nord",
    "Osprey",
    "Rowan",
    "Sable",
    "Thorn",
]
NAME_TAILS = [
    "wind",
    "field",
    "stone",
    "bridge",
    "gate",
    "point",
    "line",
    "wave",
    "path",
    "works",
    "light",
    "view",
    "brook",
    "ridge",
    "crest",
    "port",
    "forge",
    "vale",
    "mark",
    "well",
    "spring",
    "wood",
    "haven",
    "side",
    "way",
    "land",
    "star",
    "fort",
    "bay",
    "hill",
]
FOUNDERS = [
    "Keller",
    "Hartmann",
    "Lindqvist",
    "Moreau",
    "Van Dijk",
    "Bianchi",
    "Novak",
    "Fischer",
    "Dubois",
    "Jansen",
    "Costa",
    "Becker",
    "Holm",
    "Meyer",
    "Garcia",
    "Walsh",
    "Brennan",
    "Sato",
    "Weber",
    "Larsen",
]

# industry: (nouns used in company names, share of accounts)
INDUSTRIES = {
    "Logistics": (["Logistics", "Freight", "Shipping", "Transport"], 9),
    "Manufacturing": (["Manufacturing", "Industries", "Engineering", "Components", "Machining"], 14),
    "Retail": (["Retail", "Stores", "Outfitters", "Market"], 8),
    "Financial services": (["Capital", "Financial", "Insurance", "Partners"], 9),
    "Healthcare": (["Health", "Clinics", "Medical", "Care"], 8),
    "Software": (["Software", "Systems", "Labs", "Digital", "Technologies"], 12),
    "Energy": (["Energy", "Power", "Renewables", "Utilities"], 5),
    "Construction": (["Construction", "Builders", "Infrastructure"], 6),
    "Food & beverage": (["Foods", "Brewing", "Dairy", "Bakeries"], 6),
    "Education": (["Learning", "Academy", "Education"], 4),
    "Hospitality": (["Hotels", "Hospitality", "Resorts"], 4),
    "Professional services": (["Consulting", "Advisory", "Associates"], 7),
    "Telecommunications": (["Telecom", "Networks", "Communications"], 3),
    "Pharmaceuticals": (["Pharma", "Biosciences", "Therapeutics"], 3),
    "Media": (["Media", "Studios", "Publishing"], 2),
}

# region: (legal forms, top-level domains, phone prefix, share of accounts)
REGIONS = {
    "DACH": ([("GmbH", "de", "+49"), ("AG", "ch", "+41"), ("GmbH", "at", "+43"), ("GmbH & Co. KG", "de", "+49")], 22),
    "UK & Ireland": ([("Ltd", "co.uk", "+44"), ("plc", "co.uk", "+44"), ("Ltd", "ie", "+353")], 18),
    "France": ([("SAS", "fr", "+33"), ("SA", "fr", "+33")], 12),
    "Benelux": ([("B.V.", "nl", "+31"), ("N.V.", "be", "+32"), ("B.V.", "nl", "+31")], 10),
    "Nordics": ([("AB", "se", "+46"), ("AS", "no", "+47"), ("Oy", "fi", "+358"), ("A/S", "dk", "+45")], 10),
    "Southern Europe": ([("S.p.A.", "it", "+39"), ("S.r.l.", "it", "+39"), ("S.L.", "es", "+34")], 10),
    "North America": ([("Inc.", "com", "+1"), ("LLC", "com", "+1"), ("Corp.", "com", "+1")], 18),
}

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hannah",
    "Ivan",
    "Julia",
    "Karl",
    "Laura",
    "Max",
    "Nina",
    "Oliver",
    "Paula",
    "Quentin",
    "Rosa",
    "Stefan",
    "Tanja",
    "Ulrich",
    "Vera",
    "William",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Amelia",
    "Bruno",
    "Chloe",
    "Diego",
    "Emma",
    "Finn",
    "Grace",
    "Henrik",
    "Isabel",
    "Jakob",
    "Katarina",
    "Lucas",
    "Mia",
    "Noah",
    "Olga",
    "Pedro",
    "Rachel",
    "Samuel",
    "Sarah",
    "Thomas",
    "Ursula",
    "Victor",
    "Wendy",
    "Adam",
    "Beatrice",
    "Carlos",
    "Daphne",
    "Erik",
    "Fatima",
    "George",
    "Helena",
    "Ingrid",
    "James",
    "Kevin",
    "Leila",
    "Marta",
    "Nils",
    "Oscar",
    "Petra",
    "Rahul",
    "Sven",
    "Tobias",
    "Valentina",
    "Wei",
    "Yara",
    "Aaron",
    "Bianca",
    "Chen",
    "Dorothea",
    "Emil",
    "Freya",
    "Gabriel",
    "Hugo",
    "Irene",
    "Joana",
    "Kai",
    "Lotte",
    "Mateo",
    "Nadia",
    "Omar",
    "Pia",
    "Ruben",
    "Selin",
    "Theo",
    "Uma",
    "Vincent",
    "Aleksander",
    "Lars",
    "Astrid",
    "Sophie",
    "Luca",
    "Giulia",
    "Marie",
    "Pierre",
]
LAST_NAMES = [
    "Schmidt",
    "Smith",
    "Johansson",
    "Dubois",
    "Rossi",
    "Garcia",
    "Jansen",
    "Nowak",
    "Murphy",
    "Keller",
    "Wagner",
    "Brown",
    "Nielsen",
    "Martin",
    "Ricci",
    "Lopez",
    "de Vries",
    "Kowalski",
    "Kelly",
    "Hoffmann",
    "Taylor",
    "Andersen",
    "Bernard",
    "Greco",
    "Fernandez",
    "Bakker",
    "Wisniewski",
    "Byrne",
    "Schulz",
    "Wilson",
    "Hansen",
    "Thomas",
    "Bruno",
    "Martinez",
    "Visser",
    "Lewandowski",
    "Walsh",
    "Koch",
    "Evans",
    "Berg",
    "Petit",
    "Gallo",
    "Sanchez",
    "Smit",
    "Kaminski",
    "Ryan",
    "Richter",
    "Clarke",
    "Lund",
    "Durand",
    "Conti",
    "Romero",
    "Meijer",
    "Zielinski",
    "OConnor",
    "Klein",
    "Wright",
    "Dahl",
    "Leroy",
    "Costa",
    "Alvarez",
    "Mulder",
    "Szymanski",
    "Doyle",
    "Wolf",
    "Hughes",
    "Strand",
    "Moreau",
    "Fontana",
    "Navarro",
    "Bos",
    "Wozniak",
    "McCarthy",
    "Neumann",
    "Patel",
    "Holm",
    "Fournier",
    "Marino",
    "Ortega",
    "Peters",
    "Lindberg",
    "Girard",
    "Esposito",
    "Silva",
    "Vermeulen",
    "Krause",
    "Edwards",
    "Eriksen",
    "Lambert",
    "Romano",
    "Khan",
    "Okafor",
    "Nakamura",
    "Weiss",
    "Hall",
    "Sorensen",
    "Morel",
    "Lombardi",
    "Ibrahim",
]
TITLES = [
    "Chief Financial Officer",
    "Chief Operating Officer",
    "Chief Technology Officer",
    "CEO",
    "VP Operations",
    "VP Sales",
    "Head of IT",
    "IT Director",
    "Procurement Manager",
    "Operations Manager",
    "Head of Sales Operations",
    "Data Engineer",
    "Finance Director",
    "Head of Customer Service",
    "Logistics Coordinator",
    "Business Analyst",
    "Project Manager",
    "Legal Counsel",
    "Information Security Officer",
    "Head of Analytics",
    "Controller",
    "Team Lead",
    "Product Owner",
]
DEPARTMENTS = ["Finance", "Operations", "Sales", "Marketing", "Customer Service", "Logistics", "Procurement", "IT"]
COMPETITORS = ["Salesforce", "HubSpot", "Pipedrive", "Clari", "an in-house spreadsheet", "Zoho"]

NEW_BUSINESS_DEALS = [
    "Pipeline visibility rollout",
    "Sales forecasting pilot",
    "Operations dashboard",
    "Deal desk modernisation",
    "Revenue reporting",
    "Field sales rollout",
    "Forecast accuracy programme",
    "Sales process standardisation",
    "Account planning pilot",
    "Regional sales rollout",
    "Partner pipeline tracking",
    "Pilot for {dept}",
]
EXPANSION_DEALS = [
    "{n} additional seats",
    "Expansion to {dept}",
    "Premium support upgrade",
    "Analytics add-on",
    "Renewal with upsell",
    "Second region rollout",
    "API access add-on",
]

# Where deals come from (`LeadSource` values; "" is a deal whose source was never recorded), by
# kind of deal and how it ends: referrals and partners win more often and cold outbound less, a
# mild effect for the win model to find. Expansion deals mostly come from the customer itself.
SOURCE_WEIGHTS = {
    "expansion": {"existing_customer": 78, "referral": 6, "inbound": 6, "partner": 4, "event": 2, "": 4},
    "won": {"inbound": 27, "outbound": 14, "referral": 24, "partner": 16, "event": 9, "existing_customer": 4, "": 6},
    "lost": {"inbound": 25, "outbound": 35, "referral": 7, "partner": 12, "event": 13, "existing_customer": 2, "": 6},
    "open": {"inbound": 27, "outbound": 27, "referral": 14, "partner": 14, "event": 11, "existing_customer": 3, "": 4},
}
LOST_REASON_WEIGHTS = {
    "Price": 20,
    "Chose a competitor": 24,
    "No decision / status quo": 28,
    "Timing": 12,
    "Missing capability": 9,
    "Lost contact": 5,
    "Other": 2,
}
LOST_NOTES = {
    "Price": [
        "Budget was cut to half of our quote; they bought a cheaper point tool.",
        "Procurement would not move past a 20% discount.",
        "Price per seat too high for the number of occasional users.",
    ],
    "Chose a competitor": [
        "Went with {comp}; it came bundled with their existing contract.",
        "{comp} won on an existing relationship with the CFO.",
        "Lost to {comp} after their reference visit.",
    ],
    "No decision / status quo": [
        "Project deprioritised after a reorganisation; staying with spreadsheets.",
        "Sponsor left and nobody picked the project up.",
        "They decided the problem is not big enough to fix this year.",
    ],
    "Timing": [
        "Budget frozen until next fiscal year; revisit in Q{q}.",
        "ERP migration takes all their IT capacity until next year.",
    ],
    "Missing capability": [
        "Needed on-premise deployment.",
        "Required native integration with their ERP that we do not offer.",
    ],
    "Lost contact": [
        "Champion stopped answering after the proposal.",
        "No reply to five follow-ups across two months.",
    ],
    "Other": ["Acquired by a group that mandates its own tools."],
}
WON_NOTES = [
    "Signed a {n}-year agreement; kickoff booked.",
    "Won against {comp} on ease of use and the milestone checklist.",
    "Closed after the security review; the champion drove it through procurement.",
    "Signed at list price in exchange for a case study.",
    "Closed on the committed date; onboarding starts next month.",
]

EVIDENCE = [
    "Confirmed by {c} on a call",
    "Email from {c}",
    "Agreed in the steering meeting",
    "Written up in the shared meeting notes",
    "{c} confirmed it in writing",
    "Discussed with {c} and their manager",
]

ACTIVITY_KINDS = [  # kind, weight
    ("email", 30),
    ("call", 20),
    ("meeting", 15),
    ("demo", 6),
    ("reference_call", 3),
    ("content_shared", 8),
    ("note", 12),
    ("task", 6),
]
ACTIVITY_SUBJECTS = {
    "email": [
        "Follow-up after the call with {c}",
        "Sent recap and next steps to {c}",
        "Shared pricing overview",
        "Intro email to {c}",
        "Answered integration questions from {c}",
    ],
    "call": ["Call with {c}", "Check-in call with {c}", "Discovery call with {c}", "Pricing call with {c}"],
    "meeting": [
        "Meeting with {c} and team",
        "On-site workshop with {dept}",
        "Steering meeting",
        "Business review with {c}",
    ],
    "demo": ["Product demo for {dept}", "Tailored demo for {c}", "Deep-dive demo: forecasting"],
    "reference_call": ["Reference call with {ref}", "Reference call arranged for {c}"],
    "content_shared": [
        "Shared case study: {ref}",
        "Sent ROI calculator to {c}",
        "Shared security whitepaper",
        "Sent implementation plan",
    ],
    "note": [
        "{c} is moving to a new role",
        "Budget cycle starts in Q{q}",
        "{comp} is also in the deal",
        "Champion positive, CFO sceptical",
    ],
    "task": ["Prepare proposal draft", "Update mutual action plan", "Prepare demo environment", "Internal deal review"],
}
ACTIVITY_NOTES = [
    "Good energy; they want to move before the end of the quarter.",
    "Raised concerns about the data migration effort.",
    "Asked for a reference in their industry.",
    "The CFO joined for the last ten minutes and asked about payback.",
    "They are comparing us with two other vendors.",
    "Security questionnaire due by end of next week.",
    "Agreed to involve procurement earlier this time.",
]
