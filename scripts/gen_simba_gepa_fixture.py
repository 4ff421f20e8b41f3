"""Record the messages DSPy 3.4.1 sends for SIMBA's OfferFeedback and GEPA's built-in proposer.

rdspy's tests (crates/rdspy/tests/optimize_simba_gepa_mock.rs) compare its prompts with these, so
the same LM sees the same text through rdspy and through DSPy.

    /work/dspy-venv/bin/python scripts/gen_simba_gepa_fixture.py > crates/rdspy/tests/fixtures/simba_gepa_prompts_dspy341.json
"""
import json

import dspy
from dspy.adapters import ChatAdapter, JSONAdapter
from dspy.teleprompt.gepa.instruction_proposal import InstructionProposer
from dspy.teleprompt.simba_utils import OfferFeedback

offer_inputs = {
    "program_code": "class X: pass",
    "modules_defn": "Module self",
    "program_inputs": '{\n  "question": "3+1?"\n}',
    "oracle_metadata": '{\n  "answer": "4"\n}',
    "worse_program_trajectory": "[]",
    "worse_program_outputs": '{\n  "answer": "3"\n}',
    "worse_reward_value": "0.0",
    "worse_reward_info": "{}",
    "better_program_trajectory": "[]",
    "better_program_outputs": '{\n  "answer": "4"\n}',
    "better_reward_value": "1.0",
    "better_reward_info": "{}",
    "module_names": '[\n  "self"\n]',
}
offer = ChatAdapter().format(OfferFeedback, [], offer_inputs)

proposer = InstructionProposer()
examples = [
    {"Inputs": {"question": "3+1?"}, "Generated Outputs": {"answer": "3"}, "Feedback": "This trajectory got a score of 0.0."},
    {"Inputs": {"question": "é+1?"}, "Generated Outputs": {"answer": "x"}, "Feedback": "Wrong."},
]
propose = JSONAdapter().format(
    proposer.propose.signature, [], {"current_instruction": "Answer it.", "examples_with_feedback": examples}
)
print(json.dumps({
    "offer_feedback": {"inputs": offer_inputs, "messages": offer},
    "propose_instruction": {"current_instruction": "Answer it.", "examples": examples, "messages": propose},
}, indent=1, ensure_ascii=False))
