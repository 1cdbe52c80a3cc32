"""Word lists the name, place and title rules of ``extractors.deid`` read.

Why lists: a name without a title or a credential ("John Smith was notified") can only be
told from report words by knowing first names. The first names are common given names of
the US, UK and beyond, without those that are also English or report words ("Will",
"Mark", "May", "Grace", "Rose", "Gene"...), so that a capitalised report word is never
taken for one. Cities are the large US cities (Safe Harbor: every geographic subdivision
smaller than a state), again without names that are English words ("Mobile", "Reading")."""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = frozenset(
    _words(
        """
    Aaron Abigail Adam Adrian Adriana Ahmed Aidan Aiden Aisha Alan Albert Alberto Alejandro
    Alex Alexander Alexandra Alexis Alfred Ali Alice Alicia Alison Allison Alyssa Amanda Amelia
    Amir Amy Ana Andre Andrea Andrew Angela Angelica Anita Ann Anna Anne Annette Anthony
    Antonio Arthur Ashley Audrey Austin Barbara Benjamin Bernard Beth Betty Beverly Bradley
    Brandon Brenda Brian Brittany Bruce Bryan Caleb Cameron Carl Carla Carlos Carmen Caroline
    Carolyn Catherine Cecilia Charles Charlotte Cheryl Chloe Christian Christina Christine
    Christopher Cindy Claire Clara Claudia Connor Craig Cynthia Dale Daniel Daniela Danielle
    David Deborah Debra Denise Dennis Derek Diana Diane Diego Dmitri Dolores Donald Donna
    Doris Dorothy Douglas Dylan Edward Eileen Elaine Eleanor Elena Elijah Elizabeth Ellen
    Emily Emma Eric Erica Erik Erin Ethan Eugene Evelyn Fatima Fernando Fiona Florence
    Frances Francesca Francisco Fred Frederick Gabriel Gabriela Gary George Georgia Gerald
    Gloria Gordon Gregory Hannah Harold Harry Heather Helen Henry Hiroshi Howard Hugo Ian
    Ibrahim Irene Isaac Isabel Isabella Jack Jacob Jacqueline Jake James Jamie Jane Janet
    Janice Jason Javier Jean Jeffrey Jennifer Jeremy Jerry Jesse Jessica Joan Joanne Joel
    John Jonathan Jordan Jorge Jose Joseph Joshua Joyce Juan Judith Judy Julia Julian Julie
    Justin Karen Katherine Kathleen Kathryn Kayla Keith Kelly Kenneth Kevin Kimberly Kyle
    Laura Lauren Lawrence Leah Leonard Leslie Linda Lisa Logan Lois Lori Louis Louise Lucas
    Lucy Luis Luke Madison Manuel Margaret Maria Marie Marilyn Mario Marion Martha Martin
    Mary Matthew Megan Melissa Michael Michelle Miguel Mohammed Monica Nancy Natalie Nathan
    Nicholas Nicole Noah Norma Olga Olivia Oscar Owen Pamela Patricia Patrick Paul Paula
    Pedro Peter Philip Phillip Priya Rachel Rafael Rahul Rajesh Ralph Randy Raymond Rebecca
    Regina Renee Ricardo Richard Rita Robert Roberto Robin Roger Ronald Rosa Roy Russell
    Ruth Ryan Samantha Samuel Sandra Sara Sarah Scott Sean Sergei Sharon Shirley Sofia Sophia
    Sophie Stephanie Stephen Steven Susan Tammy Teresa Terry Theresa Thomas Timothy Tina Todd
    Tyler Valerie Vanessa Victor Victoria Vincent Virginia Walter Wayne Wei William Xavier
    Yuki Yusuf Zachary Zoe
    """
    )
)

# Capitalised words that start report sentences or name departments and roles: never the
# first word of a name the context rules take ("discussed with Emergency Department").
NOT_NAMES = frozenset(
    _words(
        """
    The A An This That These There It He She They We I Patient Pt Patients Findings Finding
    Impression Impressions Report Reports History Indication Comparison Technique Exam
    Examination Study Studies Chest Lung Lungs Heart Cardiac Right Left Bilateral No Not
    Normal Mild Moderate Severe Small Large Stable Unchanged New Interval Prior Previous
    Emergency Department Radiology Radiologist Resident Fellow Attending Physician Doctor
    Nurse Team Service Staff Clinic Clinical Surgery Surgical Medicine Medical Oncology
    Cardiology Pulmonary Pulmonology Intensive Care Unit ICU ED ER Floor Ward Hospital
    Signed Dictated Read Reviewed Electronically Verified Approved Transcribed Interpreted
    Discussed Called Reported Results Result Preliminary Final Addendum Please Per By With
    On At In Of For To From And Or Telephone Phone Fax Page Paged Provider Referring
    Ordering Primary Care Daughter Son Wife Husband Family Mother Father Caregiver Dear
    Chief Head Department Section Division Office Center Centre Institute University
    CT MRI PET PA AP XR Xray Portable Frontal Lateral Upright Supine Views View Images Image
    Series Slice Contrast Without Dr Drs Mr Mrs Ms Miss Mx Prof Professor Sister Mister
    """
    )
)

CREDENTIALS = (
    r"M\.?D\.?",
    r"D\.O\.",
    r"R\.?N\.?",
    r"N\.?P\.?",
    r"PA-C",
    r"Ph\.?D\.?",
    r"MBBS",
    r"MBChB",
    r"FRCR",
    r"FRCPC?",
    r"FACR",
    r"APRN",
    r"CRNA",
    r"DNP",
    r"RT\(R\)",
)

TITLES = (
    r"Dr",
    r"Doctor",
    r"Mr",
    r"Mrs",
    r"Ms",
    r"Miss",
    r"Mx",
    r"Prof",
    r"Professor",
    r"Sister",
    r"Mister",
)

# large US cities (geographic units smaller than a state); English words left out
CITIES = (
    frozenset(
        _words(
            """
    Albuquerque Anaheim Anchorage Arlington Atlanta Austin Bakersfield Baltimore
    Baton Birmingham Boise Boston Brookline Buffalo Cambridge Chandler Charleston Charlotte
    Chattanooga Chesapeake Chicago Chula Cincinnati Cleveland Colorado Columbus Dallas Dayton
    Denver Detroit Durham Fresno Glendale Greensboro Hartford Henderson Hialeah Honolulu
    Houston Indianapolis Irvine Jacksonville Knoxville Laredo Lexington Louisville Lubbock
    Madison Memphis Mesa Miami Milwaukee Minneapolis Nashville Newark Norfolk Oakland Omaha
    Orlando Pasadena Philadelphia Phoenix Pittsburgh Portland Providence Raleigh Richmond
    Riverside Rochester Sacramento Scottsdale Seattle Spokane Springfield Stockton Tacoma
    Tallahassee Tampa Toledo Tucson Tulsa Worcester Yonkers
    """
        )
    )
    - FIRST_NAMES
)  # "Austin", "Madison", "Charlotte": a first name rule still takes them

CITY_PHRASES = (
    r"New York",
    r"Los Angeles",
    r"San Francisco",
    r"San Diego",
    r"San Jose",
    r"San Antonio",
    r"Las Vegas",
    r"St\.? Louis",
    r"St\.? Paul",
    r"Salt Lake City",
    r"Kansas City",
    r"Oklahoma City",
    r"Fort Worth",
    r"El Paso",
    r"New Orleans",
    r"Long Beach",
    r"Virginia Beach",
    r"Ann Arbor",
)

STATES = [
    *_words(
        "Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia "
        "Hawaii Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland "
        "Massachusetts Michigan Minnesota Mississippi Missouri Montana Nebraska Nevada Ohio "
        "Oklahoma Oregon Pennsylvania Tennessee Texas Utah Vermont Virginia Washington Wisconsin "
        "Wyoming"
    ),
    "New Hampshire",
    "New Jersey",
    "New Mexico",
    "New York",
    "North Carolina",
    "North Dakota",
    "Rhode Island",
    "South Carolina",
    "South Dakota",
    "West Virginia",
]

STATE_CODES = _words(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC"
)
