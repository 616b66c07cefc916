"""The OpenAI Responses API front door (`/v1/responses`): create (streamed or not), read,
delete and list input items of stored responses, over the chat domain."""
