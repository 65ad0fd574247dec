"""The assessment: a profile and rulesets in, a scorecard out (engine, scoring, policy)."""
