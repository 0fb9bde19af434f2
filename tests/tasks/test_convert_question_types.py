"""The rule converter on real VQAv2-style questions: at least two per question type of VQAv2
(``tests/fixtures/formats/vqav2_question_types.txt``, a copy of ../shared/formats/), each with
the statement a careful person would write for one answer; irregular spacing and capitals;
the fallback is a sentence; the share of types a rule handles (coverage).

Print the coverage: ``PYTHONPATH=. python -m pytest -q -s tests/tasks/test_convert_question_types.py -k coverage``
"""
from pathlib import Path

import pytest

from fgalign.tasks.vqa.convert import create_converter, rule_coverage

TYPES_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "vqav2_question_types.txt"
CASES = [  # (question type, question, answer, statement): two per type
    ('how many', 'How many people are in the picture?', '3', 'three people are in the picture'),
    ('how many', 'How many birds can you see?', '2', 'you can see two birds'),
    ('is the', 'Is the man happy?', 'yes', 'the man is happy'),
    ('is the', 'Is the door open?', 'no', 'the door is not open'),
    ('what', 'What game is being played?', 'frisbee', 'frisbee is being played'),
    ('what', 'What does the sign say?', 'stop', 'the sign says stop'),
    ('what color is the', 'What color is the bus?', 'red', 'the red bus'),
    ('what color is the', "What color is the man's shirt?", 'blue', "the man's blue shirt"),
    ('what is the', 'What is the wall made of?', 'brick', 'the wall is made of brick'),
    ('what is the', 'What is the cat sitting on?', 'couch', 'the cat is sitting on couch'),
    ('is this', 'Is this a kitchen?', 'yes', 'this is a kitchen'),
    ('is this', 'Is this pizza homemade?', 'no', 'this pizza is not homemade'),
    ('is this a', 'Is this a zoo?', 'no', 'this is not a zoo'),
    ('is this a', 'Is this a professional game?', 'yes', 'this is a professional game'),
    ('what is', 'What is in the cup?', 'coffee', 'coffee is in the cup'),
    ('what is', 'What is this?', 'rocket', 'this is a rocket'),
    ('are the', 'Are the lights on?', 'yes', 'the lights are on'),
    ('are the', 'Are the people walking?', 'no', 'the people are not walking'),
    ('what kind of', 'What kind of dog is this?', 'beagle', 'this is a beagle'),
    ('what kind of', 'What kind of food is on the plate?', 'pasta', 'pasta is on the plate'),
    ('is there a', 'Is there a dog in the picture?', 'no', 'there is no dog in the picture'),
    ('is there a', 'Is there a clock on the wall?', 'yes', 'there is a clock on the wall'),
    ('what type of', 'What type of shoes is she wearing?', 'sneakers', 'she is wearing sneakers'),
    ('what type of', 'What type of tree is this?', 'palm', 'this is a palm'),
    ('is it', 'Is it raining?', 'no', 'it is not raining'),
    ('is it', 'Is it sunny?', 'yes', 'it is sunny'),
    ('what are the', 'What are the people doing?', 'skiing', 'the people are skiing'),
    ('what are the', 'What are the colors of the flag?', 'red and white', 'the colors of the flag are red and white'),
    ('where is the', 'Where is the cat?', 'couch', 'the cat is on couch'),
    ('where is the', 'Where is the man standing?', 'kitchen', 'the man is standing in kitchen'),
    ('is there', 'Is there text in the image?', 'no', 'there is no text in the image'),
    ('is there', 'Is there snow on the ground?', 'yes', 'there is snow on the ground'),
    ('does the', 'Does the man have a hat?', 'yes', 'the man has a hat'),
    ('does the', 'Does the dog look happy?', 'no', 'the dog does not look happy'),
    ('what color are the', 'What color are the flowers?', 'yellow', 'the yellow flowers'),
    ('what color are the', "What color are the man's shoes?", 'black', "the man's black shoes"),
    ('are these', 'Are these bananas?', 'yes', 'these are bananas'),
    ('are these', 'Are these people friends?', 'no', 'these people are not friends'),
    ('are there', 'Are there any people?', 'no', 'there are no people'),
    ('are there', 'Are there clouds in the sky?', 'yes', 'there are clouds in the sky'),
    ('which', 'Which hand is he using?', 'left', 'he is using left hand'),
    ('which', 'Which animal is bigger?', 'elephant', 'the elephant is bigger'),
    ('is', 'Is anyone sitting on the bench?', 'no', 'no one is sitting on the bench'),
    ('is', 'Is everyone smiling?', 'yes', 'everyone is smiling'),
    ('what is the man', 'What is the man holding?', 'bat', 'the man is holding bat'),
    ('what is the man', 'What is the man doing?', 'surfing', 'the man is surfing'),
    ('is the man', 'Is the man wearing a hat?', 'yes', 'the man is wearing a hat'),
    ('is the man', 'Is the man old?', 'no', 'the man is not old'),
    ('are', 'Are all the lights on?', 'no', 'all the lights are not on'),
    ('are', 'Are both people smiling?', 'yes', 'both people are smiling'),
    ('how', 'How is the weather?', 'sunny', 'the weather is sunny'),
    ('how', 'How old is the man?', '30', 'the man is 30 years old'),
    ('does this', 'Does this look like a kitchen?', 'yes', 'this looks like a kitchen'),
    ('does this', 'Does this bus have passengers?', 'no', 'this bus does not have passengers'),
    ('what is on the', 'What is on the plate?', 'pizza', 'pizza is on the plate'),
    ('what is on the', 'What is on the table?', 'laptop', 'laptop is on the table'),
    ('what does the', 'What does the man have in his hand?', 'phone', 'the man has phone in his hand'),
    ('what does the', 'What does the sign say?', 'one way', 'the sign says one way'),
    ('how many people are', 'How many people are there?', '4', 'there are four people'),
    ('how many people are', 'How many people are wearing hats?', '1', 'one person is wearing hats'),
    ('what is in the', 'What is in the bowl?', 'soup', 'soup is in the bowl'),
    ('what is in the', 'What is in the sky?', 'kite', 'kite is in the sky'),
    ('what is this', 'What is this?', 'bathroom', 'this is a bathroom'),
    ('what is this', 'What is this animal?', 'giraffe', 'this animal is a giraffe'),
    ('do', 'Do the colors match?', 'yes', 'the colors match'),
    ('do', 'Do the people know each other?', 'no', 'the people do not know each other'),
    ('what are', 'What are these?', 'bananas', 'these are bananas'),
    ('what are', 'What are they doing?', 'playing', 'they are playing'),
    ('are they', 'Are they playing tennis?', 'yes', 'they are playing tennis'),
    ('are they', 'Are they married?', 'no', 'they are not married'),
    ('what time', 'What time is it?', 'noon', 'it is noon'),
    ('what time', 'What time of day is it?', 'morning', 'it is morning'),
    ('what sport is', 'What sport is being played?', 'tennis', 'tennis is being played'),
    ('what sport is', 'What sport is this?', 'baseball', 'this is baseball'),
    ('are there any', 'Are there any clouds?', 'no', 'there are no clouds'),
    ('are there any', 'Are there any people on the beach?', 'yes', 'there are people on the beach'),
    ('is he', 'Is he smiling?', 'yes', 'he is smiling'),
    ('is he', 'Is he wearing glasses?', 'no', 'he is not wearing glasses'),
    ('what color is', 'What color is the sky?', 'blue', 'the blue sky'),
    ('what color is', 'What color is his shirt?', 'white', 'his white shirt'),
    ('why', 'Why is the man smiling?', 'happy', 'the man is smiling because of happy'),
    ('why', 'Why is the street wet?', 'rain', 'the street is wet because of rain'),
    ('where are the', 'Where are the people?', 'beach', 'the people are on beach'),
    ('where are the', 'Where are the cows standing?', 'field', 'the cows are standing on field'),
    ('what color', 'What color shirt is the man wearing?', 'red', 'the man is wearing red shirt'),
    ('what color', 'What color is it?', 'green', 'it is green'),
    ('who is', 'Who is holding the umbrella?', 'woman', 'the woman is holding the umbrella'),
    ('who is', 'Who is on the phone?', 'man', 'the man is on the phone'),
    ('what animal is', 'What animal is this?', 'dog', 'this is a dog'),
    ('what animal is', 'What animal is on the bed?', 'cat', 'a cat is on the bed'),
    ('is the woman', 'Is the woman smiling?', 'yes', 'the woman is smiling'),
    ('is the woman', 'Is the woman holding an umbrella?', 'no', 'the woman is not holding an umbrella'),
    ('is this an', 'Is this an airport?', 'yes', 'this is an airport'),
    ('is this an', 'Is this an old photo?', 'no', 'this is not an old photo'),
    ('do you', 'Do you see a dog?', 'yes', 'you see a dog'),
    ('do you', 'Do you think it will rain?', 'no', 'you do not think it will rain'),
    ('how many people are in', 'How many people are in the water?', '2', 'two people are in the water'),
    ('how many people are in', 'How many people are in this picture?', '5', 'five people are in this picture'),
    ('what room is', 'What room is this?', 'kitchen', 'this is a kitchen'),
    ('what room is', 'What room is shown?', 'bathroom', 'a bathroom is shown'),
    ('has', 'Has the cake been cut?', 'yes', 'the cake has been cut'),
    ('has', 'Has the pizza been eaten?', 'no', 'the pizza has not been eaten'),
    ('is this person', 'Is this person a woman?', 'yes', 'this person is a woman'),
    ('is this person', 'Is this person skiing?', 'no', 'this person is not skiing'),
    ('what is the woman', 'What is the woman holding?', 'umbrella', 'the woman is holding umbrella'),
    ('what is the woman', 'What is the woman doing?', 'texting', 'the woman is texting'),
    ('can you', 'Can you see the sun?', 'no', 'you cannot see the sun'),
    ('can you', 'Can you see the ocean?', 'yes', 'you can see the ocean'),
    ('why is the', 'Why is the man wearing a helmet?', 'safety', 'the man is wearing a helmet because of safety'),
    ('why is the', 'Why is the dog lying down?', 'to sleep', 'the dog is lying down to sleep'),
    ('is the person', 'Is the person wearing a helmet?', 'yes', 'the person is wearing a helmet'),
    ('is the person', 'Is the person skiing?', 'no', 'the person is not skiing'),
    ('what is the color of the', 'What is the color of the bus?', 'red', 'the color of the bus is red'),
    ('what is the color of the', 'What is the color of the cat?', 'orange', 'the color of the cat is orange'),
    ('what is the person', 'What is the person holding?', 'kite', 'the person is holding kite'),
    ('what is the person', 'What is the person doing?', 'skateboarding', 'the person is skateboarding'),
    ('could', 'Could this be a hotel room?', 'yes', 'this could be a hotel room'),
    ('could', 'Could this be dangerous?', 'no', 'this could not be dangerous'),
    ('was', 'Was this photo taken at night?', 'no', 'this photo was not taken at night'),
    ('was', 'Was the picture taken outside?', 'yes', 'the picture was taken outside'),
    ('is that a', 'Is that a cat?', 'yes', 'that is a cat'),
    ('is that a', 'Is that a real horse?', 'no', 'that is not a real horse'),
    ('what number is', 'What number is on the bus?', '5', 'number 5 is on the bus'),
    ('what number is', 'What number is the player?', '23', 'the player is number 23'),
    ('what is the name', 'What is the name of the dog?', 'max', 'the name of the dog is max'),
    ('what is the name', 'What is the name of the store?', 'target', 'the name of the store is target'),
    ('what brand', 'What brand is the laptop?', 'apple', 'the brand of the laptop is apple'),
    ('what brand', 'What brand of phone is this?', 'nokia', 'this is a nokia phone'),
]
# A third per type, written before the converter saw it: 59 of 64 came out as written and 63
# of 64 went through a rule; the rules were then fixed for the other five (noun phrases the
# parser did not chunk, plural answer agreement, "any of").
CASES += [
    ('how many', 'How many cars are parked on the street?', '3', 'three cars are parked on the street'),
    ('is the', 'Is the sky cloudy?', 'yes', 'the sky is cloudy'),
    ('what', 'What game are they playing?', 'soccer', 'they are playing soccer'),
    ('what color is the', 'What color is the cat?', 'black', 'the black cat'),
    ('what is the', 'What is the dog holding in its mouth?', 'frisbee', 'the dog is holding frisbee in its mouth'),
    ('is this', 'Is this in a city?', 'yes', 'this is in a city'),
    ('is this a', 'Is this a train station?', 'no', 'this is not a train station'),
    ('what is', 'What is behind the fence?', 'trees', 'trees are behind the fence'),
    ('are the', 'Are the giraffes eating?', 'yes', 'the giraffes are eating'),
    ('what kind of', 'What kind of bird is this?', 'parrot', 'this is a parrot'),
    ('is there a', 'Is there a person in the picture?', 'yes', 'there is a person in the picture'),
    ('what type of', 'What type of vehicle is shown?', 'truck', 'a truck is shown'),
    ('is it', 'Is it night time?', 'no', 'it is not night time'),
    ('what are the', 'What are the men wearing?', 'suits', 'the men are wearing suits'),
    ('where is the', 'Where is the clock?', 'tower', 'the clock is in tower'),
    ('is there', 'Is there any food on the plate?', 'no', 'there is no food on the plate'),
    ('does the', 'Does the train have passengers?', 'yes', 'the train has passengers'),
    ('what color are the', 'What color are the walls?', 'white', 'the white walls'),
    ('are these', 'Are these apples?', 'no', 'these are not apples'),
    ('are there', 'Are there trees in the background?', 'yes', 'there are trees in the background'),
    ('which', 'Which way is the bus going?', 'left', 'the bus is going left way'),
    ('is', 'Is anybody wearing a hat?', 'yes', 'somebody is wearing a hat'),
    ('what is the man', 'What is the man sitting on?', 'bench', 'the man is sitting on bench'),
    ('is the man', 'Is the man riding a horse?', 'no', 'the man is not riding a horse'),
    ('are', 'Are any of the people wearing hats?', 'no', 'none of the people are wearing hats'),
    ('how', 'How does the food look?', 'delicious', 'the food looks delicious'),
    ('does this', 'Does this room have a window?', 'yes', 'this room has a window'),
    ('what is on the', 'What is on the wall?', 'painting', 'painting is on the wall'),
    ('what does the', 'What does the woman have on her head?', 'hat', 'the woman has hat on her head'),
    ('how many people are', 'How many people are sitting?', '2', 'two people are sitting'),
    ('what is in the', 'What is in the vase?', 'flowers', 'flowers are in the vase'),
    ('what is this', 'What is this device?', 'remote', 'this device is a remote'),
    ('do', 'Do the zebras have stripes?', 'yes', 'the zebras have stripes'),
    ('what are', 'What are the giraffes doing?', 'eating', 'the giraffes are eating'),
    ('are they', 'Are they outside?', 'yes', 'they are outside'),
    ('what time', 'What time does the clock say?', '3:00', 'the clock says 3:00'),
    ('what sport is', 'What sport is the boy playing?', 'baseball', 'the boy is playing baseball'),
    ('are there any', 'Are there any boats in the water?', 'no', 'there are no boats in the water'),
    ('is he', 'Is he young?', 'yes', 'he is young'),
    ('what color is', 'What color is the train?', 'yellow', 'the yellow train'),
    ('why', 'Why is the woman holding an umbrella?', 'rain', 'the woman is holding an umbrella because of rain'),
    ('where are the', 'Where are the boats?', 'water', 'the boats are on water'),
    ('what color', 'What color hat is the woman wearing?', 'pink', 'the woman is wearing pink hat'),
    ('who is', 'Who is wearing a red shirt?', 'boy', 'the boy is wearing a red shirt'),
    ('what animal is', 'What animal is in the picture?', 'horse', 'a horse is in the picture'),
    ('is the woman', 'Is the woman wearing glasses?', 'no', 'the woman is not wearing glasses'),
    ('is this an', 'Is this an old building?', 'yes', 'this is an old building'),
    ('do you', 'Do you see any people?', 'no', 'you do not see any people'),
    ('how many people are in', 'How many people are in the room?', '6', 'six people are in the room'),
    ('what room is', 'What room is pictured?', 'living room', 'living room is pictured'),
    ('has', 'Has it snowed?', 'yes', 'it has snowed'),
    ('is this person', 'Is this person a professional?', 'no', 'this person is not a professional'),
    ('what is the woman', 'What is the woman wearing?', 'dress', 'the woman is wearing dress'),
    ('can you', 'Can you see the mountains?', 'yes', 'you can see the mountains'),
    ('why is the', 'Why is the dog wet?', 'swimming', 'the dog is wet because of swimming'),
    ('is the person', 'Is the person standing?', 'yes', 'the person is standing'),
    ('what is the color of the', 'What is the color of the car?', 'silver', 'the color of the car is silver'),
    ('what is the person', 'What is the person riding?', 'bike', 'the person is riding bike'),
    ('could', 'Could this be a farm?', 'yes', 'this could be a farm'),
    ('was', 'Was the food eaten?', 'no', 'the food was not eaten'),
    ('is that a', 'Is that a boat?', 'yes', 'that is a boat'),
    ('what number is', 'What number is on the shirt?', '10', 'number 10 is on the shirt'),
    ('what is the name', 'What is the name of the street?', 'main', 'the name of the street is main'),
    ('what brand', 'What brand of shoes is the man wearing?', 'nike', 'the man is wearing nike shoes'),
]


@pytest.fixture(scope="module")
def rule():
    return create_converter("rule")


@pytest.fixture(scope="module")
def converted(rule):
    return [row[0] for row in rule.rules([q for _, q, _, _ in CASES], [[a] for _, _, a, _ in CASES])]


def test_every_question_type_has_at_least_three_questions():
    types = [t for t in TYPES_FILE.read_text().splitlines() if t.strip()]
    assert len(types) == 64
    per_type = {t: sum(c[0] == t for c in CASES) for t in types}
    assert min(per_type.values()) >= 3, [t for t, n in per_type.items() if n < 2]
    assert {c[0] for c in CASES} <= set(types)
    for t, q, _, _ in CASES:  # the question is of its type (longest matching prefix aside)
        assert " ".join(q.lower().split()).startswith(t + " ") or q.lower().rstrip("?") == t


def test_statements_per_question_type(converted):
    wrong = [(q, a, got, want) for (_, q, a, want), (got, _) in zip(CASES, converted)
             if got != want]
    assert not wrong, "\n".join(f"{q!r} + {a!r}: {g!r} (want {w!r})" for q, a, g, w in wrong)


def test_no_statement_is_the_question_with_the_answer_appended(converted):
    for (_, q, a, _), (got, _) in zip(CASES, converted):
        assert got != " ".join(q.lower().rstrip("?").split() + [a.lower()])
        assert not got.startswith(("what ", "which ", "how ", "why ", "where ", "who ", "is ",
                                   "are ", "does ", "do ", "can ", "could ", "has ", "was "))


def test_rule_coverage_of_question_types(converted):
    by_type: dict[str, list[str]] = {}
    for (t, _, _, _), (_, name) in zip(CASES, converted):
        by_type.setdefault(t, []).append(name)
    cov = rule_coverage(by_type)
    print(f"\nrule coverage of VQAv2 question types: {cov['covered']}/{cov['types']} = "
          f"{cov['coverage']:.3f}; fallback types: {cov['fallback_types']}; rules: {cov['rules']}")
    assert cov["types"] == 64 and cov["covered"] == 64 and cov["coverage"] == 1.0


@pytest.mark.parametrize("question,answer,statement", [
    ("  What   is In the CUP?  ", "Coffee", "coffee is in the cup"),
    ("WHAT IS THIS?", "Rocket", "this is a rocket"),
    ("Is\tthere  TEXT in the image ?", "no", "there is no text in the image"),
    ("what color  is the\nbus", "Red", "the red bus"),
])
def test_whitespace_and_case_are_normalised(rule, question, answer, statement):
    assert rule([question], [[answer]]) == [[statement]]


@pytest.mark.parametrize("question,answer,statement", [
    ("Is the door open or closed?", "closed", "the door is closed"),
    ("Is this a kitchen or a bathroom?", "bathroom", "this is a bathroom"),
    ("Is it day or night?", "night", "it is night"),
])
def test_either_or_questions_state_the_chosen_option(rule, question, answer, statement):
    assert rule([question], [[answer]]) == [[statement]]


def test_fallback_is_a_sentence(rule):
    rows = rule.rules(["Whose bag is this?", "Hello?", ""], [["mine"], ["hi"], ["x"]])
    assert [r[0] for r in rows] == [("the answer is mine", "fallback"),
                                    ("the answer is hi", "fallback"),
                                    ("the answer is x", "fallback")]
