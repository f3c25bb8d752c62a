"""The conversation both ways have: 30 messages, the model's window and the sampling values."""

from __future__ import annotations

PRESET = "long-chat"
N_CTX = 2048
MAX_TOKENS = 128
SYSTEM_PROMPT = "You are a helpful assistant."
# Sent identically both ways. What the issue does not fix is the seed's value (configs/local-chat.yaml).
SAMPLING = {
    "temperature": 0.0,
    "top_p": 0.0,
    "frequency_penalty": 0.0,
    "presence_penalty": 0.0,
    "seed": 1,
}
TARGET_RATIO = 1.5  # turn 30 no slower than 1.5 x turn 1
READING_PAUSE = 15.0  # seconds: reading a ~100-word answer and typing the next question take longer
CALM = 0.3  # a turn is "calm" when other processes used less than this many cores during it
WARMUP = "Hello! Who are you?"
QUICK_TURNS = 14  # enough to pass the window once: the seed fails from turn 13, llmchat cuts at 12

# One evening's conversation: 20-40 words each, several topics, some referring back.
MESSAGES = [
    "I'm planning a two-week trip to Japan next spring with my partner. We like food, hiking and "
    "old temples, but we hate crowds. Which cities and regions would you suggest we visit?",
    "We will land in Tokyo and fly home from Osaka. How should we split the fourteen days between "
    "places, and is the Japan Rail Pass still worth buying for that route?",
    "My partner is vegetarian and does not eat fish either. How hard is that in Japan, and which "
    "dishes or kinds of restaurants should we look for or avoid?",
    "Can you suggest a few day hikes near Kyoto or in the Japanese Alps that take four to six "
    "hours and do not need special equipment or a guide?",
    "Switching topics for a moment: I need to write a short speech for my sister's wedding. Give me "
    "an outline with a funny opening, a warm middle and a toast at the end.",
    "She met her husband at a climbing gym and they both love terrible puns. Could you suggest "
    "three gentle jokes about climbing that would not embarrass anyone's grandparents?",
    "Back to work questions. I manage a team of six software developers and our code reviews take "
    "days. What practical changes could make reviews faster without lowering quality?",
    "Some people on the team write huge pull requests with thousands of lines. How do I convince "
    "them to split work into smaller changes without sounding like I am micromanaging?",
    "Explain the difference between a process and a thread in simple terms, with an everyday "
    "analogy I could use when teaching junior developers who have never written concurrent code.",
    "In Python specifically, why does the global interpreter lock matter, and when should I choose "
    "multiprocessing, threads or asyncio for a program that downloads and parses many web pages?",
    "Write a short Python function that takes a list of URLs, downloads them concurrently with at "
    "most five at a time, and returns a dictionary mapping each URL to its status code.",
    "How would I add retries with exponential backoff to that function, and which kinds of errors "
    "should be retried rather than reported to the caller immediately?",
    "Let's talk about health. I sit at a desk for nine hours a day and my lower back hurts by "
    "evening. What simple habits or stretches could help, and when should I see a doctor?",
    "Is a standing desk actually better for you, or is that mostly marketing? I would like a "
    "balanced answer that mentions what research says about standing all day.",
    "I want to start running again after five years without any exercise. Could you give me a "
    "gentle eight-week plan with three runs a week that helps me avoid injury?",
    "What should I eat before and after a morning run if I usually have no appetite early and need "
    "to be at my desk by nine o'clock?",
    "My daughter is ten and asks why the sky is blue but sunsets are red. How can I explain light "
    "scattering to her without using any math or difficult words?",
    "She also wants to know why we have seasons. Many adults think it is because the Earth is "
    "closer to the Sun in summer. How do I explain the real reason simply?",
    "Can you suggest a simple science experiment we could do together at home this weekend with "
    "kitchen materials, that takes less than an hour and is safe for a child?",
    "I am thinking about buying an electric car. My commute is forty kilometres each way and I can "
    "charge at home. What should I compare between models besides the price?",
    "How much does cold winter weather really reduce an electric car's range, and are there habits "
    "that help, like preheating the cabin while it is still plugged in?",
    "Our family keeps arguing about whether to rent or buy a house. What questions should we ask "
    "ourselves before deciding, and which numbers matter most in the comparison?",
    "Can you explain how a fixed-rate mortgage differs from a variable-rate one, and what kind of "
    "household each usually suits, in plain language without financial jargon?",
    "I would like to learn three or four reliable weeknight dinners that take thirty minutes. "
    "Suggest some vegetarian ideas, since my partner eats neither meat nor fish.",
    "For the first dinner idea, write the full recipe for two people, with quantities, the order of "
    "the steps, and what can be prepared the night before to save time.",
    "I keep forgetting what I read in books. Which techniques do people use to remember the key "
    "ideas of non-fiction books months later, and how much time do they take?",
    "Recommend a few classic novels for someone who loved reading as a teenager but has only read "
    "work emails for years. Short ones would be best to get started again.",
    "Going back to our trip to Japan: what are some polite customs, or etiquette mistakes that "
    "foreign visitors often make, in temples, on trains and in restaurants?",
    "Could you write a short packing list for two weeks in Japan in April, assuming we travel with "
    "carry-on bags only and will do laundry once or twice?",
    "Finally, please summarise the main plans we discussed today, the trip, the wedding speech, "
    "running and the dinners, as a short to-do list I can print and put on the fridge.",
]
assert len(MESSAGES) == 30 and all(20 <= len(m.split()) <= 40 for m in MESSAGES)
