"""The session-9 table of docs/results/omni.md from the committed eval JSONs: python3 docs/results/omni/s9/table.py"""
import json
import os

HERE = os.path.dirname(__file__)
RUNS = [
    ('lm2 @2,100', 'eval5-lm2-2100.json'),
    ('lm3 @3,000 drills', 'eval-lm3-3000.json'),
    ('lm4 @3,300 heard first', 'eval-lm4-3300.json'),
    ('lm4 @3,600', 'eval-lm4-3600.json'),
    ('lm4 @3,900', 'eval-lm4-3900.json'),
    ('lm4 @4,200', 'eval-lm4-4200.json'),
    ('lm4 @4,500', 'eval-lm4-4500.json'),
]
ROWS = [
    ('sqa/voice', 'spoken Q, held-out voice: written answer right', 'n'),
    ('sqa/voice:5', '… the question transcribed, CER', 'f'),
    ('sqa/voice:2', '… spoken answer right (template recogniser)', 'n'),
    ('sqa/question', 'held-out spoken Q, training voice: written answer right', 'n'),
    ('sqa/question:5', '… the question transcribed, CER', 'f'),
    ('sqa/question:2', '… spoken answer right (template recogniser)', 'n'),
    ('tqa/question', 'held-out typed Q: answer right', 'n'),
    ('asr/voice', 'corpus sentence, held-out voice: CER', 'f'),
    ('tts/question', 'text → speech, self-transcribed CER', 'f'),
    ('img2cap/caption', 'image → caption exact', 'n'),
    ('cap2img/caption', 'caption → image: nearest render right', 'n'),
]
evals = [(name, json.load(open(os.path.join(HERE, f)))) for name, f in RUNS]
print('| measure (25 items each) | ' + ' | '.join(n for n, _ in evals) + ' |')
print('|---|' + '---:|' * len(evals))
for key, label, kind in ROWS:
    cells = []
    for _, e in evals:
        s = e.get(key)
        if s is None:
            cells.append('—')
        elif kind == 'n':
            cells.append(f"{round(s['value'] * s['n'])}/{s['n']}")
        else:
            cells.append(f"{s['value']:.3f}")
    print(f'| {label} | ' + ' | '.join(cells) + ' |')
