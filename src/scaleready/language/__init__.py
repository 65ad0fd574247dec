"""The rule language: condition nodes, the parser, plain words,
the plain-Python evaluator, the durable-rules compiler, and ruleset files.
"""
