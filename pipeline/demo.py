"""The demo company: sales processes with real coaching, teams, people, accounts and 18 months
of deal history ending now, for `manage.py seed_demo` and the benchmark.

Rows are written in bulk (PostgreSQL COPY, or bulk_create elsewhere) rather than through
`opportunities.services`, which would be far too slow at 100,000 deals and would date everything
"now". The generator therefore replays each deal's life in time order and writes exactly the rows
the services would have written: the same event verbs and data keys, versions bumped by the same
actions, milestones ticked before the moves they gate, and the denormalized fields of each
opportunity equal to what its events say.
"""

import bisect
import datetime as dt
import io
import itertools
import json
import queue
import random
import threading
import time
import unicodedata
from collections import Counter
from json.encoder import encode_basestring as _json_string

from django.contrib.auth.hashers import check_password, make_password
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from opportunities.models import (
    Account,
    AccountStatus,
    Activity,
    ActivityKind,
    BuyingRole,
    BuyingTeamMember,
    Contact,
    EmployeeBand,
    LostReason,
    MilestoneCompletion,
    NextStep,
    Opportunity,
    OpportunityEvent,
    RevenueBand,
)
from people.models import Role, Team, User
from stages.models import Milestone, SalesProcess, Stage

# === The words of the demo company ===========================================================

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


# === The generator ===============================================================================

DAY = 36_000  # seconds of one working day (08:00–18:00 local): the generator's unit of time
WINDOW_DAYS = 390  # working days of history, about 18 months
FUTURE_DAYS = 1_500  # working days ahead, for close dates and due dates
CHUNK = 2_000  # opportunities generated and written per batch
REBUILD_INDEXES_FROM = 10_000  # opportunities; below this, loading into indexed tables is quick enough
NULL = "\\N"

# The generator writes every row as one line of PostgreSQL's COPY text format, in these columns:
# tab-separated, \N for NULL. Generated text never contains tabs, newlines or backslashes (see
# _check_content), except JSON, whose backslashes are doubled by _js.
COLUMNS = {
    Account: [
        "id",
        "name",
        "website",
        "industry",
        "employee_band",
        "region",
        "revenue_band",
        "owner_id",
        "status",
        "created_at",
    ],
    Contact: ["id", "account_id", "first_name", "last_name", "title", "email", "phone", "created_at"],
    Opportunity: [
        "id",
        "account_id",
        "process_id",
        "stage_id",
        "owner_id",
        "name",
        "amount",
        "expected_close_date",
        "status",
        "closed_on",
        "closed_stage_id",
        "lost_reason_id",
        "close_notes",
        "stage_entered_at",
        "close_date_push_count",
        "last_activity_at",
        "next_step_id",
        "version",
        "created_at",
        "updated_at",
        "furthest_stage_id",
        "description",
    ],
    NextStep: [
        "id",
        "opportunity_id",
        "kind",
        "description",
        "due_date",
        "owner_id",
        "created_by_id",
        "created_at",
        "completed_at",
        "completed_by_id",
    ],
    MilestoneCompletion: ["id", "opportunity_id", "milestone_id", "completed_by_id", "completed_at", "evidence"],
    BuyingTeamMember: ["id", "opportunity_id", "contact_id", "roles", "added_at"],
    Activity: [
        "id",
        "account_id",
        "opportunity_id",
        "kind",
        "subject",
        "notes",
        "occurred_at",
        "created_by_id",
        "created_at",
    ],
    Activity.contacts.through: ["id", "activity_id", "contact_id"],
    OpportunityEvent: [
        "id",
        "opportunity_id",
        "actor_id",
        "verb",
        "from_stage_id",
        "to_stage_id",
        "data",
        "version",
        "created_at",
        "state_stage_id",
        "state_amount",
        "state_close_date",
        "state_owner_id",
        "state_status",
        "valid_to",
        "stage_entered_at",
    ],
}
JSON_COLUMNS = {BuyingTeamMember: "roles", OpportunityEvent: "data"}
# Parents first, so that even immediate foreign keys would hold at the end.
TABLES = [
    Account,
    Contact,
    Opportunity,
    NextStep,
    MilestoneCompletion,
    BuyingTeamMember,
    Activity,
    Activity.contacts.through,
    OpportunityEvent,
]
_LABELS = {
    Account: "accounts",
    Contact: "contacts",
    Opportunity: "opportunities",
    NextStep: "next steps",
    MilestoneCompletion: "milestone completions",
    BuyingTeamMember: "buying team members",
    Activity: "activities",
    Activity.contacts.through: "activity participants",
    OpportunityEvent: "events",
}

_HMS = [f"{8 + s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY)]
_BAND_LEVEL = {band.value: level for level, band in enumerate(EmployeeBand)}
_AMOUNTS = [(3_000, 12_000), (8_000, 30_000), (20_000, 80_000), (50_000, 250_000), (120_000, 900_000)]
_ACTIVITY_NAMES = [kind for kind, _ in ACTIVITY_KINDS]
_ACTIVITY_LABELS = {kind.value: kind.label.lower() for kind in ActivityKind}  # as activity_log records them
_ROLE_LABELS = dict(BuyingRole.choices)

# Intention codes of a deal's history; the walk turns them into rows in time order.
(CREATED, NS_SET, NS_DONE, MOVE, TICK, AMOUNT, CLOSE_DATE, OWNER, TEAM_ADD, TEAM_ROLES, ACTIVITY, WON, LOST) = range(13)


def _js(text: str) -> str:
    """A JSON string literal, ready for COPY text format (its backslashes doubled)."""
    literal = _json_string(text)
    return literal.replace("\\", "\\\\") if "\\" in literal else literal


def _check_content() -> None:
    texts = [
        PASSWORD,
        *WAITING_STEPS,
        *TEAMS,
        *NAME_HEADS,
        *NAME_TAILS,
        *FOUNDERS,
        *FIRST_NAMES,
        *LAST_NAMES,
        *TITLES,
        *DEPARTMENTS,
        *COMPETITORS,
        *NEW_BUSINESS_DEALS,
        *EXPANSION_DEALS,
        *WON_NOTES,
        *EVIDENCE,
        *ACTIVITY_NOTES,
        *(n for v in LOST_NOTES.values() for n in v),
        *(n for v in ACTIVITY_SUBJECTS.values() for n in v),
        *(w for v, _ in INDUSTRIES.values() for w in v),
        *(f for v in REGIONS.values() for f in v[0]),
        *INDUSTRIES,
        *REGIONS,
        *(s for p in PROCESSES for st in p["stages"] for s in st["next_steps"]),
    ]
    bad = [t for t in texts if any(ch in t for ch in "\t\n\r\\")]
    assert not bad, f"demo content must not contain tabs, newlines or backslashes: {bad}"


_check_content()


def _weighted(weights):
    """A picker over `weights` that consumes exactly one random() per draw."""
    total = float(sum(weights))
    cumulative = list(itertools.accumulate(w / total for w in weights))
    cumulative[-1] = 1.0

    def pick(u: float) -> int:
        return bisect.bisect_right(cumulative, u)

    return pick


# Where open and lost deals stand: most deals die or wait early in a process.
_STAGE_PICKS = {
    (0, "open"): _weighted([30, 22, 18, 13, 10, 7]),
    (0, "lost"): _weighted([25, 25, 20, 15, 10, 5]),
    (1, "open"): _weighted([35, 30, 20, 15]),
    (1, "lost"): _weighted([30, 30, 25, 15]),
}
_ACTIVITY_PICK = _weighted([w for _, w in ACTIVITY_KINDS])


def demo_present() -> bool:
    return SalesProcess.objects.filter(name=PROCESSES[0]["name"]).exists()


def demo_logins() -> list[tuple[str, str, str, str]]:
    """username, role, team, password of the demo users that exist."""
    users = User.objects.filter(username__in=[u[0] for u in USERS]).select_related("team")
    by_name = {u.username: u for u in users}
    # The seed hashes the password once for all users, so one slow check covers every user who
    # shares that hash; users who existed before the seed keep their own password.
    verdicts: dict[str, bool] = {}
    rows = []
    for username, *_ in USERS:
        user = by_name.get(username)
        if user is None:
            continue
        if user.password not in verdicts:
            verdicts[user.password] = check_password(PASSWORD, user.password)
        password = PASSWORD if verdicts[user.password] else "(unchanged)"
        rows.append((username, user.role, user.team.name if user.team else "—", password))
    return rows


def _drop_indexes(cursor, tables: list[str]) -> tuple[list, list]:
    """Drop the secondary indexes and the foreign-key and unique constraints of `tables`.

    Loading millions of rows into bare tables and then building each index once is several
    times faster than maintaining ten indexes row by row, and re-adding a foreign key checks it
    with one join instead of millions of deferred per-row triggers at commit. Everything happens
    inside the seed's transaction, so a failure rolls the schema back too.
    """
    indexes, constraints = [], []
    for table in tables:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY conname",
            [table],
        )
        for name, definition in cursor.fetchall():
            constraints.append((table, name, definition))
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary ORDER BY c.relname",
            [table],
        )
        for name, definition in cursor.fetchall():
            indexes.append(definition)
            cursor.execute(f'DROP INDEX "{name}"')
    return indexes, constraints


def _restore_indexes(cursor, dropped: tuple[list, list] | None, tables: list[str]) -> None:
    """Rebuild what _drop_indexes dropped, and refresh the planner's statistics."""
    if dropped:
        indexes, constraints = dropped
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in indexes:
            cursor.execute(definition)
    for table in tables:
        cursor.execute(f'ANALYZE "{table}"')
    if dropped:
        # Unique constraints before foreign keys; each foreign key is validated in one pass.
        for table, name, definition in sorted(constraints, key=lambda c: not c[2].startswith("UNIQUE")):
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


class _BulkSink:
    """Turns COPY lines back into model instances for bulk_create: any database, fine for a
    few thousand rows (tests, SQLite demos)."""

    def write(self, model, lines: list[str]) -> None:
        if not lines:
            return
        columns = COLUMNS[model]
        json_at = columns.index(JSON_COLUMNS[model]) if model in JSON_COLUMNS else None
        objects = []
        for line in lines:
            values = [None if v == NULL else v for v in line[:-1].split("\t")]
            if json_at is not None:
                values[json_at] = json.loads(values[json_at].replace("\\\\", "\\"))
            objects.append(model(**dict(zip(columns, values, strict=True))))
        model.objects.bulk_create(objects, batch_size=2_000)

    def close(self) -> None:
        pass


class _CopySink:
    """Writes lines with PostgreSQL COPY from a second thread while the next batch is generated.

    Both threads use the one connection of this transaction, never at the same time: the main
    thread only generates until close(). psycopg2 releases the GIL while the server works, so
    generating and loading overlap on two cores.
    """

    def __init__(self, connection):
        self.raw = connection.connection
        self.queue: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.statements = {
            model: f'COPY "{model._meta.db_table}" ({", ".join(columns)}) FROM STDIN'
            for model, columns in COLUMNS.items()
        }
        self.thread = threading.Thread(target=self._load, name="seed-demo-copy", daemon=True)
        self.thread.start()

    def write(self, model, lines: list[str]) -> None:
        if self.error is not None:
            raise self.error
        if lines:
            self.queue.put((self.statements[model], io.StringIO("".join(lines))))

    def _load(self) -> None:
        cursor = self.raw.cursor()
        while True:
            item = self.queue.get()
            if item is None:
                break
            if self.error is None:
                try:
                    cursor.copy_expert(*item, size=1 << 20)
                except BaseException as exc:  # handed to the main thread
                    self.error = exc
        cursor.close()

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


class DemoBuilder:
    """Builds the demo company. Deterministic for a seed: every random draw comes from one
    random.Random, and no draw's count depends on the clock, so runs at different times produce
    the same company, only dated differently."""

    def __init__(self, *, seed: int = 1, opportunities: int = 600, now: dt.datetime | None = None, log=None):
        self.rnd = random.Random(seed)
        self.n_opps = max(0, opportunities)
        self.n_accounts = max(10, self.n_opps // 2)
        self.now = now or timezone.now()
        self._log = log or (lambda message: None)
        self.counts: Counter = Counter()
        self.started = time.monotonic()

    def log(self, message: str) -> None:
        self._log(f"{message} ({time.monotonic() - self.started:.0f} s)")

    def pick(self, seq):
        return seq[int(self.rnd.random() * len(seq))]

    # --- set-up -------------------------------------------------------------------------------

    def build(self) -> Counter:
        """Create everything in one transaction; the caller has checked demo_present()."""
        postgres = connection.vendor == "postgresql"
        tables = [m._meta.db_table for m in TABLES]
        with transaction.atomic():
            dropped = None
            if postgres:
                with connection.cursor() as cursor:
                    # Deals are written before the accounts they date (see _finish_accounts):
                    # foreign keys are checked at the end, whatever the caller set before.
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                    # First, while no row of this transaction awaits its deferred checks.
                    if self.n_opps >= REBUILD_INDEXES_FROM:
                        dropped = _drop_indexes(cursor, tables)
            self._reference_data()
            self._time_grid()
            self._next_ids()
            self.sink = _CopySink(connection) if postgres else _BulkSink()
            try:
                self._accounts_and_contacts()
                self._deals()
                self._finish_accounts()
            finally:
                self.sink.close()
            if postgres:
                if dropped:
                    self.log("Rebuilding indexes and checking foreign keys…")
                with connection.cursor() as cursor:
                    if dropped:
                        # Run the pending checks of the reference rows now: ALTER TABLE refuses
                        # tables with pending trigger events.
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    _restore_indexes(cursor, dropped, tables)
            self._reset_sequences()
        return self.counts

    def _reference_data(self) -> None:
        self.reasons = []
        for order, name in enumerate(LOST_REASON_WEIGHTS, start=1):
            reason, _ = LostReason.objects.get_or_create(name=name, defaults={"order": order * 10})
            if reason.is_active:
                self.reasons.append((reason.pk, reason.name, _js(reason.name)))
        if not self.reasons:  # an admin deactivated them all: add one rather than refuse
            reason = LostReason.objects.create(name="Lost (demo)", order=999)
            self.reasons.append((reason.pk, reason.name, _js(reason.name)))
        self.pick_reason = _weighted([LOST_REASON_WEIGHTS.get(name, 3) for _, name, _ in self.reasons])

        self.processes = []
        for spec in PROCESSES:
            process = SalesProcess.objects.create(name=spec["name"], description=spec["description"])
            stages = []
            for order, s in enumerate(spec["stages"], start=1):
                stage = Stage.objects.create(
                    process=process,
                    name=s["name"],
                    order=order * 10,
                    objective=s["objective"],
                    guidance=s["guidance"],
                    win_probability=s["win_probability"],
                    forecast_category=s["forecast_category"],
                    stuck_after_days=s["stuck_after_days"],
                    idle_after_days=s["idle_after_days"],
                    slip_push_limit=s["slip_push_limit"],
                )
                milestones = [
                    Milestone.objects.create(
                        stage=stage, name=name, description=text, is_required=required, order=i * 10
                    )
                    for i, (name, text, required) in enumerate(s["milestones"], start=1)
                ]
                stages.append(
                    _Stage(
                        pk=stage.pk,
                        name=s["name"],
                        js=_js(s["name"]),
                        # (pk, required, stage pk, label for override messages, JSON of the tick's names)
                        milestones=[
                            (
                                m.pk,
                                m.is_required,
                                stage.pk,
                                f"{s['name']}: {m.name}",
                                f'"milestone": {_js(m.name)}, "stage_name": {_js(s["name"])}',
                            )
                            for m in milestones
                        ],
                        next_steps=s["next_steps"],
                        # Working days a healthy deal spends here, and after which it counts as stuck.
                        typical=max(1, round(s["typical_days"] * 5 / 7)),
                        stuck=max(2, round(s["stuck_after_days"] * 5 / 7)),
                    )
                )
            self.processes.append(_Process(pk=process.pk, stages=stages, cycle=sum(s.typical for s in stages)))

        password = make_password(PASSWORD)  # hashed once: the slow hasher would cost seconds per user
        teams = [Team.objects.get_or_create(name=name)[0] for name in TEAMS]
        joined = self.now - dt.timedelta(days=600)
        users = {}
        for username, first, last, role, team_index, managed in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@lockstep.example",
                    role=role,
                    team=teams[team_index] if team_index is not None else None,
                    password=password,
                    is_staff=role == Role.ADMIN,
                    is_superuser=role == Role.ADMIN,
                    date_joined=joined,
                )
            for index in managed:
                teams[index].managers.add(user)
            users[username] = user
        team_index_of = {t.pk: i for i, t in enumerate(teams)}
        self.team_reps = [[u.pk for u in users.values() if u.role == Role.REP and u.team_id == t.pk] for t in teams]
        self.reps = [pk for members in self.team_reps for pk in members]
        self.managers = [u.pk for u in users.values() if u.role == Role.MANAGER]
        self.admin_id = users["admin"].pk
        self.team_of = {u.pk: team_index_of.get(u.team_id) for u in users.values()}
        self.manager_of_team = {}
        for u in users.values():
            if u.role == Role.MANAGER:
                for t in u.managed_teams.all():
                    self.manager_of_team.setdefault(team_index_of[t.pk], u.pk)
        self.user_js = {u.pk: _js(str(u)) for u in users.values()}
        self.growth_reps = self.team_reps[2] or self.reps

    def _time_grid(self) -> None:
        """Working days from ~18 months ago to far ahead, and "now" in the generator's units."""
        tz = timezone.get_current_timezone()
        local_now = timezone.localtime(self.now, tz)
        self.today = local_now.date()
        end = self.today
        if end.weekday() >= 5 or dt.datetime.combine(end, dt.time(8), tzinfo=tz) > local_now:
            end -= dt.timedelta(days=1)
            while end.weekday() >= 5:
                end -= dt.timedelta(days=1)
        days = []
        day = end
        while len(days) < WINDOW_DAYS:
            if day.weekday() < 5:
                days.append(day)
            day -= dt.timedelta(days=1)
        days.reverse()
        day = end + dt.timedelta(days=1)
        while len(days) < WINDOW_DAYS + FUTURE_DAYS:
            if day.weekday() < 5:
                days.append(day)
            day += dt.timedelta(days=1)
        self.days = days
        self.days_s = [d.isoformat() for d in days]
        starts = [dt.datetime.combine(d, dt.time(8), tzinfo=tz) for d in days]
        self.epoch = [int(start.timestamp()) for start in starts]
        self.stamp_pre = [f"{d} " for d in self.days_s]
        self.iso_pre = [f"{d}T" for d in self.days_s]
        self.stamp_off = []
        for start in starts:
            minutes = int(start.utcoffset().total_seconds()) // 60
            sign = "-" if minutes < 0 else "+"
            self.stamp_off.append(f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")
        last = WINDOW_DAYS - 1
        elapsed = int(self.now.timestamp()) - self.epoch[last]
        self.NOW_T = last * DAY + max(0, min(elapsed, DAY - 1))
        self.last_day = len(days) - 1

    def _next_ids(self) -> None:
        self.ids = {model: (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1 for model in TABLES}

    def _reset_sequences(self) -> None:
        statements = connection.ops.sequence_reset_sql(no_style(), TABLES)
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)

    def at(self, t: int) -> str:
        """The moment `t` (working seconds since the window opened) as local time with its UTC
        offset, assembled from precomputed parts: formatting millions of datetimes would
        dominate the run time."""
        d, s = divmod(t, DAY)
        return self.stamp_pre[d] + _HMS[s] + self.stamp_off[d]

    def iso(self, t: int) -> str:
        d, s = divmod(t, DAY)
        return self.iso_pre[d] + _HMS[s] + self.stamp_off[d]

    def days_between(self, t1: int, t2: int) -> int:
        """Whole calendar days from t1 to t2, as timedelta.days would say."""
        return (self.epoch[t2 // DAY] + t2 % DAY - self.epoch[t1 // DAY] - t1 % DAY) // 86400

    def date(self, day: int) -> str:
        return self.days_s[min(day, self.last_day)]

    # --- accounts and contacts -------------------------------------------------------------------

    def _accounts_and_contacts(self) -> None:
        """Companies and their people; their rows are written at the end, dated before first use."""
        rand = self.rnd.random
        pick = self.pick
        industries = list(INDUSTRIES)
        pick_industry = _weighted([INDUSTRIES[i][1] for i in industries])
        regions = list(REGIONS)
        pick_region = _weighted([REGIONS[x][1] for x in regions])
        bands = [b.value for b in EmployeeBand]
        revenue = [b.value for b in RevenueBand]
        n = self.n_accounts
        seen = set()
        self.acc = []  # per account: [name, short name, website, industry, band, region, revenue, owner]
        self.acc_contacts = []  # per account: (first contact id, count)
        self.contacts = []  # per contact: (first, last, title, email, phone)
        self.first_contact_id = contact_id = self.ids[Contact]
        self.acc_offset = self.ids[Account]
        for a in range(n):
            industry = industries[pick_industry(rand())]
            region = regions[pick_region(rand())]
            nouns = INDUSTRIES[industry][0]
            legal_form, tld, phone_prefix = pick(REGIONS[region][0])
            for _attempt in range(4):
                style = rand()
                if style < 0.75:
                    short = pick(NAME_HEADS) + pick(NAME_TAILS)
                elif style < 0.9:
                    short = pick(FOUNDERS)
                else:
                    short = pick(NAME_HEADS) + " " + pick(NAME_HEADS)
                noun = pick(nouns)
                name = f"{short} {noun} {legal_form}"
                if name not in seen:
                    break
            else:
                name = f"{name} ({a + 1})"
            seen.add(name)
            domain = f"{_slug(short)}-{_slug(noun)}.{tld}"
            # Low indexes get most deals (see _deal), so they are the big companies.
            rank = a / n
            if rand() < 0.2:
                band = pick(bands)
            else:
                band = bands[4 if rank < 0.05 else 3 if rank < 0.2 else 2 if rank < 0.5 else 1 if rank < 0.8 else 0]
            rev = revenue[min(4, max(0, bands.index(band) - 1 + int(rand() * 2.2)))]
            owner = self.reps[int(rand() * len(self.reps))]
            self.acc.append((name, short, f"https://www.{domain}", industry, band, region, rev, owner))
            if rank < 0.05:
                count = 6 + int(rand() * 9)
            elif rank < 0.2:
                count = 4 + int(rand() * 5)
            else:
                count = 1 + int(rand() * 3)
            self.acc_contacts.append((contact_id, count))
            for _ in range(count):
                first, last = pick(FIRST_NAMES), pick(LAST_NAMES)
                phone = (
                    f"{phone_prefix} {100 + int(rand() * 900)} {1_000_000 + int(rand() * 9_000_000)}"
                    if rand() < 0.6
                    else ""
                )
                self.contacts.append((first, last, pick(TITLES), f"{_slug(first)}.{_slug(last)}@{domain}", phone))
                contact_id += 1
        never = 1 << 60
        self.acc_first = [never] * n  # earliest moment the account was used
        self.con_first = [never] * len(self.contacts)
        self.acc_won = [-1] * n  # moment of the latest won deal
        self.acc_flags = [0] * n  # 1 has deals, 2 has expansion deals, 4 has open deals
        self.ref_names = [row[1] for row in self.acc[: max(20, n // 20)]]

    def _finish_accounts(self) -> None:
        """Account and contact rows, dated before their first use, and account-only activities."""
        rand = self.rnd.random
        pick = self.pick
        at = self.at
        NOW_T = self.NOW_T
        never = 1 << 60
        accounts, contacts, activities, links = [], [], [], []
        ids = self.ids
        for a, (name, _short, website, industry, band, region, rev, owner) in enumerate(self.acc):
            first_use = self.acc_first[a]
            created = int(rand() * NOW_T) if first_use == never else max(0, first_use - int(rand() * 30 * DAY) - 1)
            flags = self.acc_flags[a]
            if flags & 2 or self.acc_won[a] >= 0:
                recent = self.acc_won[a] > NOW_T - 250 * DAY or flags & 6
                status = AccountStatus.CUSTOMER if recent or rand() < 0.6 else AccountStatus.FORMER_CUSTOMER
            elif flags & 1:
                status = AccountStatus.PROSPECT
            else:
                status = AccountStatus.PROSPECT if rand() < 0.2 else AccountStatus.TARGET
            account_id = self.acc_offset + a
            accounts.append(
                f"{account_id}\t{name}\t{website}\t{industry}\t{band}\t{region}\t{rev}\t{owner}\t"
                f"{status}\t{at(created)}\n"
            )
            first_contact, count = self.acc_contacts[a]
            for c in range(first_contact, first_contact + count):
                ci = c - self.first_contact_id
                limit = min(self.con_first[ci], created + DAY, NOW_T)
                when = created + int(rand() * max(0, limit - created))
                first, last, title, email, phone = self.contacts[ci]
                contacts.append(f"{c}\t{account_id}\t{first}\t{last}\t{title}\t{email}\t{phone}\t{at(when)}\n")
            # A touch on the account outside any deal: an event, a newsletter reply, a check-in.
            if rand() < 0.3 and created + DAY < NOW_T:
                when = created + DAY + int(rand() * (NOW_T - created - DAY))
                kind = _ACTIVITY_NAMES[_ACTIVITY_PICK(rand())]
                if kind == "demo":
                    kind = "meeting"
                c = first_contact + int(rand() * count)
                subject = pick(ACTIVITY_SUBJECTS[kind]).format(
                    c=self.contacts[c - self.first_contact_id][0],
                    dept=pick(DEPARTMENTS),
                    ref=pick(self.ref_names),
                    q=1 + int(rand() * 4),
                    comp=pick(COMPETITORS),
                )
                notes = pick(ACTIVITY_NOTES) if rand() < 0.3 else ""
                aid = ids[Activity]
                ids[Activity] += 1
                activities.append(
                    f"{aid}\t{account_id}\t{NULL}\t{kind}\t{subject}\t{notes}\t{at(when)}\t{owner}\t"
                    f"{at(min(when + int(rand() * 3600), NOW_T))}\n"
                )
                if kind not in ("note", "task"):
                    links.append(f"{ids[Activity.contacts.through]}\t{aid}\t{c}\n")
                    ids[Activity.contacts.through] += 1
        for model, lines in (
            (Account, accounts),
            (Contact, contacts),
            (Activity, activities),
            (Activity.contacts.through, links),
        ):
            self.sink.write(model, lines)
            self.counts[_LABELS[model]] += len(lines)

    # --- deals ---------------------------------------------------------------------------------------

    def _forced(self) -> list[dict]:
        """The first deals cover every stage and outcome, so even a tiny demo shows them all."""
        forced = []
        for pi, process in enumerate(self.processes):
            for k in range(len(process.stages)):
                forced.append({"pi": pi, "outcome": "open", "k": k})
        for pi, process in enumerate(self.processes):
            forced.append({"pi": pi, "outcome": "won", "k": len(process.stages) - 1})
            forced.append({"pi": pi, "outcome": "lost", "k": 1})
        # Next-step states and slipping close dates, on open deals past the first stage.
        forced[1].update(steps="none")
        forced[2].update(steps="today")
        forced[3].update(steps="overdue", pushes=3)
        forced[4].update(steps="later", pushes=4)
        return forced

    def _deals(self) -> None:
        forced = self._forced()
        self.buffers = {model: [] for model in TABLES}
        for i in range(self.n_opps):
            self._deal(forced[i] if i < len(forced) else {})
            if (i + 1) % CHUNK == 0 or i + 1 == self.n_opps:
                for model, lines in self.buffers.items():
                    self.sink.write(model, lines)
                    self.counts[_LABELS[model]] += len(lines)
                self.buffers = {model: [] for model in TABLES}
                if (i + 1) % (CHUNK * 10) == 0 or i + 1 == self.n_opps:
                    self.log(f"  {i + 1:,} / {self.n_opps:,} opportunities")

    def _deal(self, force: dict) -> None:
        rnd = self.rnd
        rand = rnd.random
        pick = self.pick
        at = self.at
        NOW_T = self.NOW_T
        last = WINDOW_DAYS - 1
        ids = self.ids
        B = self.buffers

        # What the deal is, and how it ends.
        pi = force.get("pi", 1 if rand() < PROCESSES[1]["share"] else 0)
        process = self.processes[pi]
        stages = process.stages
        n = len(stages)
        u = rand()
        outcome = force.get("outcome", "open" if u < 0.38 else "won" if u < 0.6 else "lost")
        if "k" in force:
            k = force["k"]
        elif outcome == "open":
            k = _STAGE_PICKS[(pi, "open")](rand())
        elif outcome == "won":
            k = n - 1 if rand() < 0.85 else n - 2
        else:
            k = _STAGE_PICKS[(pi, "lost")](rand())
        is_open = outcome == "open"

        # Expansion deals go to existing customers, mostly the bigger ones; a few accounts get many.
        a = int(self.n_accounts * (0.4 if pi == 1 else 1.0) * rand() ** 2)
        account = self.acc[a]
        u = rand()
        if u < 0.05:
            owner0 = pick(self.managers)
        elif pi == 1 and u < 0.7:
            owner0 = pick(self.growth_reps)
        elif u < 0.75:
            owner0 = account[7]
        else:
            owner0 = pick(self.reps)

        # Stage timeline in working days, then in working seconds.
        dwell = [max(1, int(s.typical * (0.3 + 1.4 * rand()))) for s in stages[: k + 1]]
        if is_open:
            st = stages[k].stuck
            current = int(st * (1.1 + 2.5 * rand())) if rand() < 0.18 else int(st * 0.95 * rand())
            entry_k = last - current
            before = sum(dwell[:k])
            if entry_k - before < 0:
                entry_k = min(last, before + int(rand() * 5))
            b0 = entry_k - before
            end_day = last
        else:
            total = sum(dwell)
            if total > last - 2:
                dwell = [max(1, d * (last - 2) // total) for d in dwell]
                total = sum(dwell)
            end_day = total + int(rand() * (last - total))
            b0 = end_day - total

        def moment(day: int) -> int:
            """A random working second on `day`, never after now."""
            start = day * DAY
            return start + int(rand() * (DAY if day < last else NOW_T - start + 1))

        def between(lo: int, hi: int) -> int:
            return lo + int(rand() * (hi - lo)) if hi > lo else lo

        t0 = moment(b0)
        entries = [t0]
        day = b0
        for j in range(1, k + 1):
            day += dwell[j - 1]
            entries.append(max(moment(day), entries[-1] + 60))
        t_end = NOW_T if is_open else max(moment(end_day), entries[-1] + 120)
        # Activities and next steps stop early on neglected deals.
        quiet = rand() < 0.18 or force.get("steps") == "overdue"
        gap = int((8 + rand() * 40) * DAY)
        active_until = max(t0 + 60, NOW_T - gap) if is_open and quiet else t_end

        intents = [(t0, 0, CREATED, None, None)]  # (time, order among equals, code, x, y)
        seq = itertools.count(2)
        for j in range(1, k + 1):
            intents.append((entries[j], next(seq), MOVE, j, False))
        if k >= 1 and rand() < 0.07:  # a few deals slip back a stage, then recover
            j = 1 + int(rand() * k)
            lo, hi = entries[j], entries[j + 1] if j < k else t_end
            if hi - lo > 1000:
                intents.append((lo + int((hi - lo) * (0.25 + 0.2 * rand())), next(seq), MOVE, j - 1, True))
                intents.append((lo + int((hi - lo) * (0.55 + 0.25 * rand())), next(seq), MOVE, j, False))

        # Milestones: passed stages have every required one ticked, the current stage some.
        override = None
        for j in range(k + 1):
            lo, hi = entries[j], entries[j + 1] if j < k else t_end
            for m in stages[j].milestones:
                if j < k:
                    tick = m[1] or rand() < 0.3
                elif outcome == "won":
                    tick = m[1] or rand() < 0.5
                else:
                    tick = rand() < 0.45
                if tick:
                    intents.append((between(lo, hi), next(seq), TICK, m, None))
        if outcome == "won":
            for s in stages[k + 1 :]:  # won a stage early: the later stages' criteria were met anyway
                for m in s.milestones:
                    if m[1]:
                        intents.append((between(entries[k], t_end), next(seq), TICK, m, None))
            if rand() < 0.04:  # the manager signed it off with a criterion open
                required = [x for x in intents if x[2] == TICK and x[3][2] == stages[k].pk and x[3][1]]
                if required:
                    intents.remove(required[-1])
                    override = required[-1][3][3]
        elif is_open and k + 1 < n and rand() < 0.05:  # buyers don't move in sequence
            intents.append((between(entries[k], t_end), next(seq), TICK, stages[k + 1].milestones[0], None))

        # Amount and close date.
        lo_amt, hi_amt = _AMOUNTS[_BAND_LEVEL[account[4]]]
        amount = lo_amt * (hi_amt / lo_amt) ** rand()
        if pi == 1:
            amount *= 0.2 + 0.3 * rand()
        step_size = 1000 if amount >= 100_000 else 500
        amount0 = max(step_size, int(amount / step_size) * step_size)
        u = rand()
        for _ in range(0 if u < 0.65 else 1 if u < 0.92 else 2):
            intents.append((between(t0 + 1, t_end), next(seq), AMOUNT, 0.7 + 0.7 * rand(), None))

        ecd = ecd_first = b0 + max(5, int(process.cycle * (0.35 + 0.9 * rand())))
        min_pushes = force.get("pushes", 0)
        pushes = 0
        prev_t = t0
        while (ecd < end_day or pushes < min_pushes) and pushes < 8:
            if is_open and pushes >= min_pushes and rand() < 0.12:
                break  # the rep stopped updating it: the close date is now in the past
            pday = min(max(b0, ecd - int(rand() * 4)), end_day)
            t = max(moment(pday), prev_t + 60)
            if t >= t_end:
                break
            new = max(ecd, pday) + 8 + int(rand() * 30)
            intents.append((t, next(seq), CLOSE_DATE, new, None))
            prev_t, ecd = t, new
            pushes += 1
        if is_open and ecd > last + 10 and rand() < 0.08:  # the buyer pulled it in
            t = between(prev_t + 60, NOW_T)
            if t > prev_t:
                intents.append((t, next(seq), CLOSE_DATE, max(last + 1, ecd - 5 - int(rand() * 10)), None))

        # Reassignment within the team (by its manager) or, rarely, across teams (by the admin).
        owner_changes = []
        if owner0 in self.reps and rand() < 0.05 and t_end - t0 > 2000:
            if rand() < 0.2:
                new_owner, actor = pick(self.reps), self.admin_id
            else:
                team = self.team_of[owner0]
                new_owner, actor = pick(self.team_reps[team]), self.manager_of_team.get(team, self.admin_id)
            if new_owner != owner0:
                t = between(t0 + (t_end - t0) // 5, t_end - 1)
                intents.append((t, next(seq), OWNER, new_owner, actor))
                owner_changes.append((t, new_owner))

        # Buying team.
        first_contact, n_contacts = self.acc_contacts[a]
        members = []
        if rand() < 0.9:
            size = min(n_contacts, 1 + int(rand() * 4))
            for position, offset in enumerate(rnd.sample(range(n_contacts), size)):
                if position == 0:
                    roles = ["champion", "user"] if rand() < 0.3 else ["champion"]
                elif position == 1:
                    roles = ["economic_buyer", "decision_maker"] if rand() < 0.4 else ["economic_buyer"]
                elif position == 2:
                    roles = ["technical_evaluator"]
                else:
                    roles = [pick(["influencer", "user", "blocker", "decision_maker"])]
                t = between(t0 + 1, t0 + (t_end - t0) // (2 if position else 6) + 2)
                members.append([first_contact + offset, roles, t])
                intents.append((t, next(seq), TEAM_ADD, len(members) - 1, None))
            if members and rand() < 0.06:
                intents.append(
                    (between(members[0][2] + 1, t_end), next(seq), TEAM_ROLES, 0, ["champion", "decision_maker"])
                )
        pool = [m[0] for m in members] or [first_contact + int(rand() * n_contacts)]
        names = [self.contacts[c - self.first_contact_id][0] for c in pool]

        # Next steps: one set at creation, then completed (or replaced) every week or two.
        mode = force.get("steps")
        if mode is None:
            u = rand()
            if u < 0.08:
                mode = "none"
            elif not is_open:
                mode = "natural"
            elif quiet or u > 0.92:  # neglected deals, and a few busy ones, are behind on their step
                mode = "overdue"
            else:
                mode = "today" if u < 0.15 else "later"
        if mode != "none":
            intents.append((t0, 1, NS_SET, None, None))
            t = t0
            while True:
                t += int((3 + rand() * 14) * DAY)
                if t >= active_until:
                    break
                intents.append((t, next(seq), NS_DONE if rand() < 0.85 else NS_SET, None, None))

        # Activities: roughly weekly while the deal is worked, logged a little after they happen.
        for _ in range(1 + min(12, int((active_until - t0) / DAY / (7 + rand() * 10)))):
            t = between(t0, active_until)
            kind = _ACTIVITY_NAMES[_ACTIVITY_PICK(rand())]
            if kind == "demo" and stages[bisect.bisect_right(entries, t) - 1].name not in ("Demonstrate", "Validate"):
                kind = "meeting"
            chosen = []
            if kind not in ("note", "task"):
                chosen.append(pick(pool))
                if len(pool) > 1 and rand() < 0.35:
                    other = pick(pool)
                    if other != chosen[0]:
                        chosen.append(other)
            subject = pick(ACTIVITY_SUBJECTS[kind]).format(
                c=self.contacts[(chosen[0] if chosen else pool[0]) - self.first_contact_id][0],
                dept=pick(DEPARTMENTS),
                ref=pick(self.ref_names),
                q=1 + int(rand() * 4),
                comp=pick(COMPETITORS),
            )
            notes = pick(ACTIVITY_NOTES) if rand() < 0.3 else ""
            intents.append((min(t + int(rand() * 7200), NOW_T), next(seq), ACTIVITY, t, (kind, subject, notes, chosen)))

        if not is_open:
            intents.append((t_end, 1 << 30, WON if outcome == "won" else LOST, override, None))
        # Nothing after the close (only activities may be logged later), nothing after now.
        intents = [(min(i[0], NOW_T if i[2] == ACTIVITY else t_end), *i[1:]) for i in intents]
        intents.sort()

        # The walk: replay the intentions in time order, writing what the services would write.
        # Each event also carries the deal's state right after it and, from the next event,
        # `valid_to`: exactly what opportunities.history.event_states_rebuild computes.
        last_step_at = (
            max((i for i, x in enumerate(intents) if x[2] in (NS_SET, NS_DONE)), default=-1) if is_open else -1
        )
        oid = ids[Opportunity]
        ids[Opportunity] += 1
        account_id = self.acc_offset + a
        completions = B[MilestoneCompletion]
        acts = B[Activity]
        links = B[Activity.contacts.through]
        ev = []  # (event line without valid_to, its created_at)
        eid = ids[OpportunityEvent]
        owner = owner0
        version = 0
        cur = furthest = 0
        left = {}  # index in `ev` of an event leaving a stage -> when the deal entered that stage
        entered = updated = t0
        push_count = 0
        ecd_now = ecd_first
        amt = amount0
        status = "open"
        state = f"{stages[0].pk}\t{amount0}.00\t{self.date(ecd_first)}\t{owner0}\topen"
        last_activity = None
        step = None  # the open next step: [id, kind, text, due date, owner, created_by, created, done, done_by]
        steps = []
        for index, (t, _order, code, x, y) in enumerate(intents):
            when = at(t)
            if code == CREATED:
                version = 1
                data = (
                    f'{{"stage_name": {stages[0].js}, "amount": "{amount0}.00", '
                    f'"expected_close_date": "{self.date(ecd_first)}", "owner_id": {owner}}}'
                )
                ev.append((f"{eid}\t{oid}\t{owner}\tcreated\t{NULL}\t{stages[0].pk}\t{data}\t1\t{when}\t{state}", when))
                eid += 1
            elif code == ACTIVITY:
                kind, subject, notes, chosen = y
                aid = ids[Activity]
                ids[Activity] += 1
                acts.append(f"{aid}\t{account_id}\t{oid}\t{kind}\t{subject}\t{notes}\t{at(x)}\t{owner}\t{when}\n")
                for contact in chosen:
                    links.append(f"{ids[Activity.contacts.through]}\t{aid}\t{contact}\n")
                    ids[Activity.contacts.through] += 1
                    ci = contact - self.first_contact_id
                    if x < self.con_first[ci]:
                        self.con_first[ci] = x
                if last_activity is None or x > last_activity:
                    last_activity = x
                data = (
                    f'{{"activity_id": {aid}, "kind": "{_ACTIVITY_LABELS[kind]}", "subject": {_js(subject)}, '
                    f'"occurred_at": "{self.iso(x)}"}}'
                )
                ev.append(
                    (
                        f"{eid}\t{oid}\t{owner}\tactivity_logged\t{NULL}\t{NULL}\t{data}\t{version}\t{when}\t{state}",
                        when,
                    )
                )
                eid += 1
            elif code in (NS_SET, NS_DONE):
                replaced = "null"
                if step is not None:
                    step[7], step[8] = when, owner
                    if code == NS_DONE:
                        shown = f"Waiting on buyer until {step[3]}" if step[1] == "waiting" else step[2]
                        data = f'{{"next_step_id": {step[0]}, "description": {_js(shown)}, "due_date": "{step[3]}"}}'
                        ev.append(
                            (
                                f"{eid}\t{oid}\t{owner}\tnext_step_completed\t{NULL}\t{NULL}\t{data}\t{version}\t"
                                f"{when}\t{state}",
                                when,
                            )
                        )
                        eid += 1
                    else:  # superseded, not done
                        replaced = step[0]
                day = t // DAY
                if rand() < 0.15:
                    kind = "waiting"
                    text = pick(WAITING_STEPS)
                    due = self.date(day + 1 + int(rand() * 10))
                else:
                    kind = "action"
                    text = pick(stages[cur].next_steps).format(c=pick(names), dept=pick(DEPARTMENTS))
                    due = self.date(day + int(rand() * 8))
                if index == last_step_at:
                    due = self._final_due(mode, kind, self.days[day], due)
                step = [ids[NextStep], kind, text, due, owner, owner, when, NULL, NULL]
                ids[NextStep] += 1
                steps.append(step)
                version += 1
                updated = t
                data = (
                    f'{{"next_step_id": {step[0]}, "kind": "{kind}", "description": {_js(text)}, '
                    f'"due_date": "{due}", "replaced": {replaced}}}'
                )
                ev.append(
                    (f"{eid}\t{oid}\t{owner}\tnext_step_set\t{NULL}\t{NULL}\t{data}\t{version}\t{when}\t{state}", when)
                )
                eid += 1
            elif code == MOVE:
                before_stage, after_stage = stages[cur], stages[x]
                version += 1
                updated = t
                state = f"{after_stage.pk}\t{state.split(chr(9), 1)[1]}"
                data = (
                    f'{{"from_name": {before_stage.js}, "to_name": {after_stage.js}, '
                    f'"backwards": {"true" if y else "false"}, "days_in_stage": {self.days_between(entered, t)}}}'
                )
                left[len(ev)] = at(entered)
                ev.append(
                    (
                        f"{eid}\t{oid}\t{owner}\tstage_moved\t{before_stage.pk}\t{after_stage.pk}\t{data}\t"
                        f"{version}\t{when}\t{state}",
                        when,
                    )
                )
                eid += 1
                cur, entered = x, t
                furthest = max(furthest, x)
            elif code == TICK:
                updated = t  # ticks count as work on the deal (updated_at), without a new version
                evidence = pick(EVIDENCE).format(c=pick(names)) if rand() < 0.45 else ""
                completions.append(f"{ids[MilestoneCompletion]}\t{oid}\t{x[0]}\t{owner}\t{when}\t{evidence}\n")
                ids[MilestoneCompletion] += 1
                data = f'{{"milestone_id": {x[0]}, {x[4]}, "evidence": {_js(evidence)}}}'
                ev.append(
                    (
                        f"{eid}\t{oid}\t{owner}\tmilestone_ticked\t{NULL}\t{x[2]}\t{data}\t{version}\t{when}\t{state}",
                        when,
                    )
                )
                eid += 1
            elif code == AMOUNT:
                new_amt = max(500, int(amt * x / 500) * 500)
                if new_amt != amt:
                    version += 1
                    updated = t
                    parts = state.split("\t")
                    parts[1] = f"{new_amt}.00"
                    state = "\t".join(parts)
                    data = f'{{"old": "{amt}.00", "new": "{new_amt}.00"}}'
                    ev.append(
                        (
                            f"{eid}\t{oid}\t{owner}\tamount_changed\t{NULL}\t{NULL}\t{data}\t{version}\t{when}\t"
                            f"{state}",
                            when,
                        )
                    )
                    eid += 1
                    amt = new_amt
            elif code == CLOSE_DATE:
                pushed = x > ecd_now
                if pushed:
                    push_count += 1
                version += 1
                updated = t
                parts = state.split("\t")
                parts[2] = self.date(x)
                state = "\t".join(parts)
                data = (
                    f'{{"old": "{self.date(ecd_now)}", "new": "{self.date(x)}", '
                    f'"pushed_later": {"true" if pushed else "false"}, "push_count": {push_count}}}'
                )
                ev.append(
                    (
                        f"{eid}\t{oid}\t{owner}\tclose_date_changed\t{NULL}\t{NULL}\t{data}\t{version}\t{when}\t"
                        f"{state}",
                        when,
                    )
                )
                eid += 1
                ecd_now = x
            elif code == OWNER:
                version += 1
                updated = t
                parts = state.split("\t")
                parts[3] = str(x)
                state = "\t".join(parts)
                data = (
                    f'{{"old": {owner}, "new": {x}, "old_name": {self.user_js[owner]}, "new_name": {self.user_js[x]}}}'
                )
                ev.append(
                    (f"{eid}\t{oid}\t{y}\towner_changed\t{NULL}\t{NULL}\t{data}\t{version}\t{when}\t{state}", when)
                )
                eid += 1
                if step is not None and step[4] == owner:  # the open step follows the deal if it was theirs
                    step[4] = x
                owner = x
            elif code in (TEAM_ADD, TEAM_ROLES):
                member = members[x]
                updated = t  # like ticks: work on the deal, no new version
                if code == TEAM_ROLES:
                    member[1] = y
                first, last_name = self.contacts[member[0] - self.first_contact_id][:2]
                roles = ", ".join(f'"{_ROLE_LABELS[role]}"' for role in member[1])
                data = (
                    f'{{"action": "{"changed roles of" if code == TEAM_ROLES else "added"}", '
                    f'"contact": {_js(f"{first} {last_name}")}, "contact_id": {member[0]}, "roles": [{roles}]}}'
                )
                ev.append(
                    (
                        f"{eid}\t{oid}\t{owner}\tbuying_team_changed\t{NULL}\t{NULL}\t{data}\t{version}\t{when}\t"
                        f"{state}",
                        when,
                    )
                )
                eid += 1
                ci = member[0] - self.first_contact_id
                if t < self.con_first[ci]:
                    self.con_first[ci] = t
            else:  # WON / LOST; x is the missing milestone the manager overrode, if any
                closer = self.manager_of_team.get(self.team_of[owner], self.admin_id) if x else owner
                version += 1
                updated = t
                if step is not None:
                    step[7], step[8] = when, closer
                    step = None
                stage = stages[cur]
                if code == WON:
                    if x:
                        data = (
                            f'{{"missing": [{_js(x)}], "reason": "Customer signed; the criterion is met in '
                            f'substance.", "action": "close won"}}'
                        )
                        ev.append(
                            (
                                f"{eid}\t{oid}\t{closer}\toverride_used\t{stage.pk}\t{NULL}\t{data}\t{version}\t"
                                f"{when}\t{state}",
                                when,
                            )
                        )
                        eid += 1
                    status, reason_id = "won", NULL
                    close_notes = pick(WON_NOTES).format(n=1 + int(rand() * 3), comp=pick(COMPETITORS))
                    data = f'{{"stage_name": {stage.js}, "amount": "{amt}.00", "notes": {_js(close_notes)}}}'
                else:
                    reason_id, reason_name, reason_js = self.reasons[self.pick_reason(rand())]
                    status = "lost"
                    close_notes = pick(LOST_NOTES.get(reason_name, LOST_NOTES["Other"])).format(
                        comp=pick(COMPETITORS), q=1 + int(rand() * 4)
                    )
                    data = (
                        f'{{"stage_name": {stage.js}, "reason": {reason_js}, "reason_id": {reason_id}, '
                        f'"notes": {_js(close_notes)}, "amount": "{amt}.00"}}'
                    )
                state = f"{state.rsplit(chr(9), 1)[0]}\t{status}"
                left[len(ev)] = at(entered)
                ev.append(
                    (
                        f"{eid}\t{oid}\t{closer}\tclosed_{status}\t{stage.pk}\t{NULL}\t{data}\t{version}\t{when}\t"
                        f"{state}",
                        when,
                    )
                )
                eid += 1
                closed_on, closed_stage = self.days_s[t // DAY], stage.pk
        ids[OpportunityEvent] = eid

        events = B[OpportunityEvent]
        for i in range(len(ev) - 1):
            events.append(f"{ev[i][0]}\t{ev[i + 1][1]}\t{left.get(i, NULL)}\n")
        events.append(f"{ev[-1][0]}\t{NULL}\t{left.get(len(ev) - 1, NULL)}\n")
        next_steps = B[NextStep]
        for sid, kind, text, due, s_owner, by, created, done, done_by in steps:
            next_steps.append(f"{sid}\t{oid}\t{kind}\t{text}\t{due}\t{s_owner}\t{by}\t{created}\t{done}\t{done_by}\n")
        team = B[BuyingTeamMember]
        for contact, roles, t in members:
            roles_js = ", ".join(f'"{role}"' for role in roles)
            team.append(f"{ids[BuyingTeamMember]}\t{oid}\t{contact}\t[{roles_js}]\t{at(t)}\n")
            ids[BuyingTeamMember] += 1

        # The opportunity row, as the services leave it.
        if t0 < self.acc_first[a]:
            self.acc_first[a] = t0
        self.acc_flags[a] |= 1 | (2 if pi == 1 else 0) | (4 if is_open else 0)
        title = pick(EXPANSION_DEALS if pi == 1 else NEW_BUSINESS_DEALS).format(
            dept=pick(DEPARTMENTS), n=pick([25, 50, 100, 250])
        )
        last_activity_s = at(last_activity) if last_activity is not None else NULL
        if is_open:
            closed = f"open\t{NULL}\t{NULL}\t{NULL}\t"
            next_step = step[0] if step else NULL
        else:
            if status == "won" and t_end > self.acc_won[a]:
                self.acc_won[a] = t_end
            closed = f"{status}\t{closed_on}\t{closed_stage}\t{reason_id}\t{close_notes}"
            next_step = NULL
        B[Opportunity].append(
            f"{oid}\t{account_id}\t{process.pk}\t{stages[cur].pk}\t{owner}\t{account[1]} — {title}\t{amt}\t"
            f"{self.date(ecd_now)}\t{closed}\t{at(entered)}\t{push_count}\t{last_activity_s}\t{next_step}\t"
            # The description is left empty (the last column): a demo deal's title says enough.
            f"{version}\t{at(t0)}\t{at(updated)}\t{stages[furthest].pk}\t\n"
        )

    def _final_due(self, mode: str, kind: str, set_on: dt.date, due: str) -> str:
        """The due date of an open deal's last next step, bent into the state `mode` asks for
        where the rules allow it (due no earlier than the day it was set; waiting: the day after)."""
        today = self.today
        earliest = set_on + dt.timedelta(days=1 if kind == "waiting" else 0)
        if mode == "today" and earliest <= today:
            return today.isoformat()
        if mode == "overdue" and earliest < today:
            return earliest.isoformat()
        if mode == "later" and due <= today.isoformat():
            return (today + dt.timedelta(days=3)).isoformat()
        return due


class _Stage:
    """What the generator needs of a stage, precomputed."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


class _Process(_Stage):
    """What the generator needs of a process."""
