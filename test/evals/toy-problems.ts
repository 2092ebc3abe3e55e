import type { Problem } from '../../src/evals/data.ts';

// Shaped like real HumanEval rows: helpers and imports in the prompt that the test relies on.
export const PROBLEMS: Problem[] = [
  {
    task_id: 'Toy/0',
    prompt: 'def add(a: int, b: int) -> int:\n    """Add two numbers.\n    >>> add(2, 3)\n    5\n    """\n',
    canonical_solution: '    return a + b\n',
    test: 'METADATA = {}\n\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n',
    entry_point: 'add',
  },
  {
    task_id: 'Toy/1',
    prompt:
      'import math\n\n\ndef poly(xs: list, x: float):\n    return sum([coeff * math.pow(x, i) for i, coeff in enumerate(xs)])\n\n\n' +
      'def find_zero(xs: list):\n    """Find x such that poly(xs, x) = 0 (xs has odd degree)."""\n',
    canonical_solution:
      '    begin, end = -1.0, 1.0\n    while poly(xs, begin) * poly(xs, end) > 0:\n        begin *= 2.0\n        end *= 2.0\n' +
      '    while end - begin > 1e-10:\n        center = (begin + end) / 2.0\n        if poly(xs, center) * poly(xs, begin) > 0:\n            begin = center\n        else:\n            end = center\n    return begin\n',
    // Uses `poly` and `math` from the prompt, as HumanEval/32 does.
    test: 'def check(candidate):\n    for xs in ([1, 2], [-6, 11, -6, 1], [3, 0, 0, 2]):\n        assert math.fabs(poly(xs, candidate(list(xs)))) < 1e-4\n',
    entry_point: 'find_zero',
  },
  {
    task_id: 'Toy/2',
    prompt:
      'from typing import List, Tuple\n\n\ndef sum_product(numbers: List[int]) -> Tuple[int, int]:\n    """(sum, product) of a list."""\n',
    canonical_solution: '    s, p = 0, 1\n    for n in numbers:\n        s += n\n        p *= n\n    return s, p\n',
    test: 'def check(candidate):\n    assert candidate([]) == (0, 1)\n    assert candidate([3, 5, 7]) == (3 + 5 + 7, 3 * 5 * 7)\n    assert candidate([10**30, 2]) == (10**30 + 2, 2 * 10**30)\n',
    entry_point: 'sum_product',
  },
];
