import anthropic, openai, pytest
pytestmark = pytest.mark.integration
FR = [{"role": "user", "content": "What is the capital of France?"}]

def test_probe(gateway_url: str, client: openai.OpenAI) -> None:
    claude = anthropic.Anthropic(base_url=gateway_url, api_key="x", max_retries=0)
    def both(tag):
        o = client.chat.completions.create(model="SmolLM2-135M-Instruct", messages=FR, temperature=0, max_tokens=20).choices[0].message.content
        a = claude.messages.create(model="SmolLM2-135M-Instruct", messages=FR, max_tokens=20, extra_body={"temperature": 0}).content[0].text
        a2 = claude.messages.create(model="SmolLM2-135M-Instruct", messages=FR, max_tokens=20, extra_body={"temperature": 0}).content[0].text
        print(tag, "| OAI:", o, "| ANT:", a, "| ANT2:", a2)
    both("fresh")
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="SmolLM2-135M-Instruct", messages=[{"role": "user", "content": "hello " * 9000}], max_tokens=16)
    both("after-huge")
    client.chat.completions.create(model="SmolLM2-135M-Instruct", messages=[{"role": "user", "content": "What is the weather in Paris?"}], max_tokens=16)
    both("after-weather")
