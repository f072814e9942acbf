"""What the guardrails judge: texts read from each family's requests, responses and streams."""

from __future__ import annotations

import orjson

from proxy_core.guardrails import extract_prompt_texts, extract_response_texts, extract_stream_texts
from proxy_core.providers import FAMILIES

# --- prompts -------------------------------------------------------------------------------


def test_openai_chat_string_and_part_content() -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [{"type": "text", "text": "Describe this"},
                                         {"type": "image_url", "image_url": {"url": "data:..."}}]},
            {"role": "assistant", "content": None, "tool_calls": [{"function": {"arguments": "{}"}}]},
            {"role": "tool", "content": "tool says hi"},
        ],
    }
    assert extract_prompt_texts(FAMILIES["openai"], "/chat/completions", body) == ["You are terse.", "Describe this", "tool says hi"]


def test_openai_legacy_prompt_and_embeddings_input() -> None:
    assert extract_prompt_texts(FAMILIES["openai"], "/completions", {"prompt": "Say hi"}) == ["Say hi"]
    assert extract_prompt_texts(FAMILIES["openai"], "/completions", {"prompt": ["a", "b"]}) == ["a", "b"]
    assert extract_prompt_texts(FAMILIES["openai"], "/embeddings", {"input": "embed me"}) == ["embed me"]
    assert extract_prompt_texts(FAMILIES["openai"], "/embeddings", {"input": ["one", "two"]}) == ["one", "two"]
    assert extract_prompt_texts(FAMILIES["openai"], "/embeddings", {"input": [[1, 2, 3]], "model": "x"}) == []


def test_openai_responses_api_input() -> None:
    body = {
        "instructions": "Be kind",
        "input": [
            {"role": "user", "content": "plain"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "parts"}]},
            {"type": "function_call_output", "call_id": "c1", "output": "42 degrees"},
        ],
    }
    assert extract_prompt_texts(FAMILIES["openai"], "/responses", body) == ["Be kind", "plain", "parts", "42 degrees"]
    assert extract_prompt_texts(FAMILIES["openai"], "/responses", {"input": "just text"}) == ["just text"]


def test_anthropic_system_messages_and_tool_results() -> None:
    body = {
        "system": [{"type": "text", "text": "sys"}],
        "messages": [
            {"role": "user", "content": "question"},
            {"role": "assistant", "content": [{"type": "text", "text": "thinking"}, {"type": "tool_use", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "result text"},
                                         {"type": "tool_result", "content": [{"type": "text", "text": "nested"}]},
                                         {"type": "image", "source": {}}]},
        ],
    }
    assert extract_prompt_texts(FAMILIES["anthropic"], "/v1/messages", body) == ["sys", "question", "thinking", "result text", "nested"]
    assert extract_prompt_texts(FAMILIES["anthropic"], "/v1/messages", {"system": "plain sys", "messages": []}) == ["plain sys"]


def test_google_contents_and_system_instruction() -> None:
    body = {
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "contents": [{"role": "user", "parts": [{"text": "hello"}, {"inlineData": {"data": "..."}}]},
                     {"role": "model", "parts": [{"text": "hi"}]}],
    }
    assert extract_prompt_texts(FAMILIES["google"], "/v1beta/models/gemini:generateContent", body) == ["be brief", "hello", "hi"]
    embed = {"requests": [{"content": {"parts": [{"text": "e1"}]}}, {"content": {"parts": [{"text": "e2"}]}}]}
    assert extract_prompt_texts(FAMILIES["google"], "/v1beta/models/x:batchEmbedContents", embed) == ["e1", "e2"]


def test_cohere_v1_and_v2() -> None:
    v1 = {"preamble": "pre", "chat_history": [{"role": "USER", "message": "earlier"}], "message": "now"}
    assert extract_prompt_texts(FAMILIES["cohere"], "/v1/chat", v1) == ["pre", "earlier", "now"]
    v2 = {"messages": [{"role": "user", "content": [{"type": "text", "text": "v2 parts"}]},
                       {"role": "user", "content": "v2 string"}]}
    assert extract_prompt_texts(FAMILIES["cohere"], "/v2/chat", v2) == ["v2 parts", "v2 string"]
    assert extract_prompt_texts(FAMILIES["cohere"], "/v1/embed", {"texts": ["t1", "t2"]}) == ["t1", "t2"]


def test_workers_ai_prompt_and_messages() -> None:
    assert extract_prompt_texts(FAMILIES["workers-ai"], "/@cf/meta/llama-3.1-8b-instruct", {"prompt": "tell me"}) == ["tell me"]
    body = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}
    assert extract_prompt_texts(FAMILIES["workers-ai"], "/@cf/meta/llama-3.1-8b-instruct", body) == ["s", "u"]
    assert extract_prompt_texts(FAMILIES["workers-ai"], "/@cf/baai/bge-base-en-v1.5", {"text": ["a", "b"]}) == ["a", "b"]


def test_bedrock_converse_and_invoke() -> None:
    converse = {"system": [{"text": "sys"}], "messages": [{"role": "user", "content": [{"text": "hi"}]},
                {"role": "user", "content": [{"toolResult": {"content": [{"text": "tool out"}]}}]}]}
    assert extract_prompt_texts(FAMILIES["bedrock"], "/model/x/converse", converse) == ["sys", "hi", "tool out"]
    assert extract_prompt_texts(FAMILIES["bedrock"], "/model/meta.llama3/invoke", {"prompt": "llama prompt"}) == ["llama prompt"]
    assert extract_prompt_texts(FAMILIES["bedrock"], "/model/amazon.titan/invoke", {"inputText": "titan"}) == ["titan"]


def test_generic_walks_named_fields() -> None:
    body = {"model": "m", "prompt": "p", "options": {"text": "nested", "temperature": 0.2, "id": "x"},
            "messages": [{"role": "user", "content": "mc"}]}
    assert sorted(extract_prompt_texts(FAMILIES["generic"], "/anything", body)) == ["mc", "nested", "p"]


def test_unknown_shape_falls_back_to_generic_and_bytes_are_decoded() -> None:
    assert extract_prompt_texts(FAMILIES["openai"], "/custom", {"query": "odd api"}) == ["odd api"]
    assert extract_prompt_texts(FAMILIES["openai"], "/chat/completions", orjson.dumps({"prompt": "bytes"})) == ["bytes"]
    assert extract_prompt_texts(FAMILIES["openai"], "/chat/completions", None) == []


# --- responses -----------------------------------------------------------------------------


def test_openai_response_shapes() -> None:
    chat = {"choices": [{"message": {"role": "assistant", "content": "answer one"}},
                        {"message": {"content": [{"type": "text", "text": "answer two"}]}}]}
    assert extract_response_texts(FAMILIES["openai"], "/chat/completions", chat) == ["answer one", "answer two"]
    assert extract_response_texts(FAMILIES["openai"], "/completions", {"choices": [{"text": "legacy"}]}) == ["legacy"]
    responses = {"output": [{"type": "reasoning", "summary": []},
                            {"type": "message", "content": [{"type": "output_text", "text": "resp api"}]}]}
    assert extract_response_texts(FAMILIES["openai"], "/responses", responses) == ["resp api"]
    embeddings = {"object": "list", "data": [{"object": "embedding", "embedding": [0.1, 0.2]}], "model": "e"}
    assert extract_response_texts(FAMILIES["openai"], "/embeddings", embeddings) == []
    tool_only = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [{"id": "t"}]}}]}
    assert extract_response_texts(FAMILIES["openai"], "/chat/completions", tool_only) == []


def test_other_family_responses() -> None:
    assert extract_response_texts(FAMILIES["anthropic"], "/v1/messages", {"content": [{"type": "text", "text": "claude"},
                                                                            {"type": "tool_use", "input": {}}]}) == ["claude"]
    gemini = {"candidates": [{"content": {"parts": [{"text": "g1"}, {"text": "g2"}]}}]}
    assert extract_response_texts(FAMILIES["google"], "/x:generateContent", gemini) == ["g1", "g2"]
    assert extract_response_texts(FAMILIES["cohere"], "/v1/chat", {"text": "c1"}) == ["c1"]
    assert extract_response_texts(FAMILIES["cohere"], "/v2/chat", {"message": {"content": [{"type": "text", "text": "c2"}]}}) == ["c2"]
    assert extract_response_texts(FAMILIES["workers-ai"], "/@cf/x", {"result": {"response": "w"}, "success": True}) == ["w"]
    assert extract_response_texts(FAMILIES["workers-ai"], "/@cf/x", {"result": {"response": {"safe": True}}}) == ['{"safe":true}']
    assert extract_response_texts(FAMILIES["bedrock"], "/model/x/converse",
                                  {"output": {"message": {"content": [{"text": "b"}]}}}) == ["b"]
    assert extract_response_texts(FAMILIES["bedrock"], "/model/llama/invoke", {"generation": "gen"}) == ["gen"]
    assert extract_response_texts(FAMILIES["generic"], "/x", {"data": {"generated_text": "hf"}}) == ["hf"]


# --- streams -------------------------------------------------------------------------------


def test_openai_stream_deltas_per_choice() -> None:
    events = [
        {"choices": [{"index": 0, "delta": {"role": "assistant"}}]},
        {"choices": [{"index": 0, "delta": {"content": "Hel"}}, {"index": 1, "delta": {"content": "Other"}}]},
        {"choices": [{"index": 0, "delta": {"content": "lo"}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 1}},
        "[DONE]",
    ]
    assert extract_stream_texts(FAMILIES["openai"], events) == ["Hello", "Other"]


def test_openai_responses_stream_and_raw_json_events() -> None:
    events = [
        '{"type": "response.created", "response": {}}',
        '{"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Hi "}',
        b'{"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "there"}',
        '{"type": "response.completed", "response": {"output": [{"type": "message", "content": [{"type": "output_text", "text": "Hi there"}]}]}}',
        "not json",
    ]
    assert extract_stream_texts(FAMILIES["openai"], events) == ["Hi there"]


def test_anthropic_stream_text_deltas() -> None:
    events = [
        {"type": "message_start", "message": {}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Bon"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "jour"}},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "input": {}}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{}"}},
        {"type": "message_stop"},
    ]
    assert extract_stream_texts(FAMILIES["anthropic"], events) == ["Bonjour"]


def test_google_cohere_workers_bedrock_streams() -> None:
    gemini = [{"candidates": [{"content": {"parts": [{"text": "Gem"}]}}]},
              {"candidates": [{"content": {"parts": [{"text": "ini"}]}, "finishReason": "STOP"}]}]
    assert extract_stream_texts(FAMILIES["google"], gemini) == ["Gemini"]
    cohere_v1 = [{"event_type": "stream-start"}, {"event_type": "text-generation", "text": "Co"},
                 {"event_type": "text-generation", "text": "here"}, {"event_type": "stream-end", "response": {}}]
    assert extract_stream_texts(FAMILIES["cohere"], cohere_v1) == ["Cohere"]
    cohere_v2 = [{"type": "content-start", "index": 0},
                 {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "v2 "}}}},
                 {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "text"}}}}]
    assert extract_stream_texts(FAMILIES["cohere"], cohere_v2) == ["v2 text"]
    workers = [{"response": "Work"}, {"response": "ers", "p": "abc"}, {"response": "", "usage": {}}, "[DONE]"]
    assert extract_stream_texts(FAMILIES["workers-ai"], workers) == ["Workers"]
    workers_openai = [{"choices": [{"index": 0, "delta": {"content": "compat"}}]}]
    assert extract_stream_texts(FAMILIES["workers-ai"], workers_openai) == ["compat"]
    bedrock = [{"messageStart": {"role": "assistant"}},
               {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Bed"}}},
               {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "rock"}}},
               {"metadata": {"usage": {}}}]
    assert extract_stream_texts(FAMILIES["bedrock"], bedrock) == ["Bedrock"]


def test_generic_stream() -> None:
    generic = FAMILIES["generic"]
    assert extract_stream_texts(generic, [{"token": "a"}, {"token": "b"}]) == ["ab"]
    assert extract_stream_texts(generic, [{"choices": [{"delta": {"content": "x"}}]}]) == ["x"]
