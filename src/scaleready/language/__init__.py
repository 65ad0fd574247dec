"""The rule language: what a ruleset's conditions are, and the two ways they are decided.

- ``nodes``: the condition tree (Term and Cond node types, ConditionError), ``children``/``walk``.
- ``parser``: condition text to a checked tree: tokenizer, parser, Vocabulary, the text limits.
- ``words``: a tree written out: as condition text (``unparse``), in plain words (``in_words``).
- ``size``: a rule's size once compiled for durable_rules, and the bounds that keep it runnable.
- ``evaluate``: the plain-Python evaluator, three-valued and able to say why; the reference.
- ``durable``: the compiler to durable_rules and the program that runs it (the only C-core user).
- ``ruleset``: ruleset files: validated, their conditions compiled, rules ordered by citation.
"""
