"""Label names the mock returns, copied from the ground-truth label lists (never read at run time).

Expression and language emotions are verified against real responses; the rest are the best lists known.
"""

from __future__ import annotations

EXPRESSION_EMOTIONS: tuple[str, ...] = (
    "Admiration", "Adoration", "Aesthetic Appreciation", "Amusement", "Anger", "Anxiety", "Awe", "Awkwardness",
    "Boredom", "Calmness", "Concentration", "Confusion", "Contemplation", "Contempt", "Contentment", "Craving",
    "Desire", "Determination", "Disappointment", "Disgust", "Distress", "Doubt", "Ecstasy", "Embarrassment",
    "Empathic Pain", "Entrancement", "Envy", "Excitement", "Fear", "Guilt", "Horror", "Interest", "Joy", "Love",
    "Nostalgia", "Pain", "Pride", "Realization", "Relief", "Romance", "Sadness", "Satisfaction", "Shame",
    "Surprise (negative)", "Surprise (positive)", "Sympathy", "Tiredness", "Triumph",
)  # fmt: skip

# The language model adds five names to the 48 expression emotions.
LANGUAGE_EMOTIONS: tuple[str, ...] = tuple(
    sorted(EXPRESSION_EMOTIONS + ("Annoyance", "Disapproval", "Enthusiasm", "Gratitude", "Sarcasm"))
)

SENTIMENT_LEVELS: tuple[str, ...] = tuple(str(level) for level in range(1, 10))

TOXICITY_LABELS: tuple[str, ...] = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")

FACS_UNITS: tuple[str, ...] = (
    "AU1 Inner Brow Raise", "AU2 Outer Brow Raise", "AU4 Brow Lowerer", "AU5 Upper Lid Raise", "AU6 Cheek Raise",
    "AU7 Lids Tight", "AU9 Nose Wrinkle", "AU10 Upper Lip Raiser", "AU11 Nasolabial Furrow Deepener",
    "AU12 Lip Corner Puller", "AU14 Dimpler", "AU15 Lip Corner Depressor", "AU16 Lower Lip Depress",
    "AU17 Chin Raiser", "AU18 Lip Pucker", "AU19 Tongue Show", "AU20 Lip Stretch", "AU22 Lip Funneler",
    "AU23 Lip Tightener", "AU24 Lip Presser", "AU25 Lips Part", "AU26 Jaw Drop", "AU27 Mouth Stretch",
    "AU28 Lips Suck", "AU32 Bite", "AU34 Puff", "AU37 Lip Wipe", "AU38 Nostril Dilate", "AU43 Eye Closure",
    "AU53 Head Up", "AU54 Head Down",
)  # fmt: skip

FACE_DESCRIPTIONS: tuple[str, ...] = (
    "Beaming", "Biting lip", "Cheering", "Cringe", "Cry", "Eyes closed", "Face in hands", "Frown", "Gasp", "Glare",
    "Glaring", "Grimace", "Grin", "Jaw drop", "Laugh", "Licking lip", "Pout", "Scowl", "Smile", "Smirk", "Snarl",
    "Squint", "Sulking", "Tongue out", "Wide-eyed", "Wince", "Wrinkled nose",
)  # fmt: skip

BURST_DESCRIPTIONS: tuple[str, ...] = (
    "Cackle", "Cheer", "Chuckle", "Cry", "Gasp", "Giggle", "Groan", "Growl", "Grunt", "Hiss", "Hoot", "Howl", "Laugh",
    "Moan", "Pant", "Roar", "Scream", "Screech", "Shout", "Shriek", "Sigh", "Snicker", "Snort", "Sob", "Squeal",
    "Wail", "Wheep", "Whimper", "Yawn", "Yelp", "Ah", "Aha", "Ahh", "Argh", "Aww", "Eek", "Eww", "Grr", "Ha", "Hah",
    "Haha", "Hehe", "Hmm", "Huh", "Hurray", "Mhm", "Mmm", "Oh", "Ohh", "Ooh", "Ooph", "Ouch", "Oww", "Pff", "Phew",
    "Tsk", "Ugh", "Uh", "Uh-huh", "Umm", "Whee", "Whew", "Woah", "Wow", "Yay", "Yippee", "Yuck",
)  # fmt: skip

# Words of the mock's fake transcripts (audio and video are never really transcribed).
TRANSCRIPT_WORDS: tuple[str, ...] = (
    "so", "I", "think", "we", "talked", "about", "this", "in", "class", "it", "was", "really", "good", "and",
    "then", "Paris", "came", "up", "again", "with", "Maria", "yes", "well", "maybe", "tomorrow", "the", "plan",
    "works", "for", "me",
)  # fmt: skip
