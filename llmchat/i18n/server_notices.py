"""What llmchat says about a server's errors and replies (:mod:`llmchat.engine.errors`), once per language.

Part of the notice catalogue (:mod:`llmchat.i18n.catalog` joins the parts); see there for the format.
"""

from __future__ import annotations

from llmchat.i18n.entries import RETRY_JA as _RETRY_JA
from llmchat.i18n.entries import Entry, Text

_SERVER_CMD = (
    "```\npython -m llama_cpp.server --model MODEL.gguf --chat_format llama-2 "
    "--n_gpu_layers 0 --port 8080\n```"
)
_CONTEXT_EN = "press Clear, switch to QA mode, or"
_CONTEXT_JA = "会話をクリアするか、QA モードに切り替えるか、"
# The page's button under the message box (labels.py "summarize"), offered after such a refusal.
_SUMMARIZE_EN = (
    "press **Summarize older turns** under the message box (a summary is then sent in place of the "
    "older messages),"
)
_SUMMARIZE_JA = (
    "メッセージ欄の下の **古いやり取りを要約** を押す（古いメッセージの代わりに要約を送ります）か、"
)
_BAD_REQUEST = Text(
    "⚠️ The server rejected the request (HTTP 400)", "⚠️ サーバーがリクエストを拒否しました（HTTP 400）"
)
_RATE_LIMITED = Text("⚠️ Too many requests (HTTP 429)", "⚠️ リクエストが多すぎます（HTTP 429）")

SERVER_NOTICES: dict[str, Entry] = {
    # --- the server: llmchat.engine.errors -------------------------------------------------------
    "unreachable": Entry(
        Text("⚠️ Cannot reach the LLM server", "⚠️ LLM サーバーに接続できません"),
        Text(
            "Nothing answers at **{server}** ({detail}).\n\n{hint}",
            "**{server}** から応答がありません（{detail}）。\n\n{hint}",
        ),
    ),
    "hint_start_server": Entry(
        body=Text(
            f"Is the server running? The seed's set-up starts one with:\n\n{_SERVER_CMD}\n\n"
            "Or pick a preset whose server is up.",
            "サーバーは起動していますか？ "
            f"元のチュートリアルの構成では次のコマンドで起動します:\n\n{_SERVER_CMD}\n\n"
            "または、サーバーが動いているプリセットを選んでください。",
        )
    ),
    "hint_check_address": Entry(
        body=Text(
            "Check the address in the preset's `base_url` and this machine's network.",
            "プリセットの `base_url` のアドレスと、このマシンのネットワークを確認してください。",
        )
    ),
    "connection_failed": Entry(body=Text("connection failed", "接続に失敗")),
    "timeout": Entry(
        Text("⚠️ The server did not answer in time", "⚠️ サーバーが時間内に応答しませんでした"),
        Text(
            "**{server}** sent nothing for {seconds:g} s. It may be busy or loading a model; "
            "press Retry, or raise the preset's `timeout`.",
            "**{server}** から {seconds:g} 秒間何も届きませんでした。混雑しているか、モデルを読み込み中の"
            f"ようです。{_RETRY_JA}。続くようならプリセットの `timeout` を長くしてください。",
        ),
    ),
    "key_refused": Entry(
        Text(
            "⚠️ The server refused the API key (HTTP {status})",
            "⚠️ サーバーが API キーを拒否しました（HTTP {status}）",
        ),
        Text(
            "**{server}** said: {said}\n\nSet the key in the environment variable `OPENAI_API_KEY` "
            "or in the preset's `api_key`, then press Retry.",
            "**{server}** の応答: {said}\n\n環境変数 `OPENAI_API_KEY` かプリセットの `api_key` に"
            f"キーを設定してから、{_RETRY_JA}。",
        ),
    ),
    "not_found": Entry(
        Text("⚠️ Model or address not found (HTTP 404)", "⚠️ モデルまたはアドレスが見つかりません（HTTP 404）"),
        Text(
            "**{server}** does not know the model `{model}`: {said}\n\n{hint}",
            "**{server}** にモデル `{model}` がありません: {said}\n\n{hint}",
        ),
    ),
    "hint_models_offered": Entry(
        body=Text(
            "Models this server offers: {models}. Set one as the preset's `model`.",
            "このサーバーのモデル: {models}。**モデル** で選ぶか、プリセットの `model` に設定してください。",
        )
    ),
    "hint_check_model": Entry(
        body=Text(
            "Check the preset's `model`, and that `base_url` is right "
            "(most servers want it to end in `/v1`).",
            "プリセットの `model` と、`base_url` "
            "が正しいか（多くのサーバーでは末尾が `/v1`）を確認してください。",
        )
    ),
    "bad_request": Entry(_BAD_REQUEST, Text("{said}", "{said}")),
    "bad_request_context": Entry(
        _BAD_REQUEST,
        Text(
            "{said}\n\nThe conversation is probably longer than the model's context window, and the "
            "server does not say how large that is. Set `context_window:` in the preset to the model's "
            "context size (llama-server's `-c`, vLLM's `--max-model-len`): llmchat then leaves out older "
            f"turns before sending. For now, {_SUMMARIZE_EN} or {_CONTEXT_EN} lower Max tokens.",
            "{said}\n\n会話がモデルのコンテキスト長を超えているようですが、サーバーはその長さを"
            "知らせていません。プリセットの `context_window:` にモデルのコンテキスト長（llama-server の "
            "`-c`、vLLM の `--max-model-len`）を設定すると、送る前に古いやり取りを省くようになります。"
            f"今は{_SUMMARIZE_JA}{_CONTEXT_JA}最大トークン数を下げてください。",
        ),
    ),
    "window_learned": Entry(
        Text("ℹ️ Sent again with older messages left out", "ℹ️ 古いメッセージを省いて送り直しました"),
        Text(
            "The server refused the request as longer than its context window of {window:,} tokens. "
            "llmchat now keeps to that size: it left out what no longer fits and sent your message "
            "again. Setting `context_window: {window}` in the preset saves that first refusal.",
            "サーバーは、コンテキスト長（{window:,} トークン）を超えるとしてリクエストを拒否しました。"
            "以後はこの長さに合わせます。収まらない分を省いて、メッセージを送り直しました。"
            "プリセットに `context_window: {window}` を設定すれば、最初の拒否も避けられます。",
        ),
    ),
    "images_refused": Entry(
        Text("⚠️ This model cannot read images", "⚠️ このモデルは画像を読めません"),
        Text(
            "The server refused the image: {said}\n\nPick a model that understands images (a vision "
            "model) under **Model**, or send your message without the image.",
            "サーバーが画像を受け付けませんでした: {said}\n\n**モデル** で画像を理解できるモデル"
            "（ビジョンモデル）を選ぶか、画像を外して送ってください。",
        ),
    ),
    "rate_limited": Entry(
        _RATE_LIMITED,
        Text(
            "**{server}** is busy or the quota is used up: {said}. Then press Retry.",
            f"**{{server}}** が混雑しているか、利用枠を使い切りました: {{said}}。少し待ってから{_RETRY_JA}。",
        ),
    ),
    "rate_limited_wait": Entry(
        _RATE_LIMITED,
        Text(
            "**{server}** is busy or the quota is used up: {said}. It asks to wait {seconds} s. "
            "Then press Retry.",
            "**{server}** が混雑しているか、利用枠を使い切りました: {said}。"
            f"{{seconds}} 秒待つよう求めています。その後で{_RETRY_JA}。",
        ),
    ),
    "server_failed": Entry(
        Text("⚠️ The server failed (HTTP {status})", "⚠️ サーバー内部でエラーが起きました（HTTP {status}）"),
        Text(
            "**{server}** had an internal error: {said}\n\nPress Retry; if it keeps failing, "
            "look at the server's log.",
            f"**{{server}}** で内部エラーが起きました: {{said}}\n\n{_RETRY_JA}。"
            "何度も失敗するならサーバーのログを確認してください。",
        ),
    ),
    "http_status": Entry(
        Text("⚠️ The server answered HTTP {status}", "⚠️ サーバーが HTTP {status} を返しました"),
        Text("{said}", "{said}"),
    ),
    "api_error": Entry(
        Text("⚠️ The server reported an error", "⚠️ サーバーがエラーを報告しました"), Text("{said}", "{said}")
    ),
    "unexpected": Entry(
        Text("⚠️ Something went wrong", "⚠️ 問題が発生しました"), Text("{error}: {said}", "{error}: {said}")
    ),
    "not_openai": Entry(
        Text("⚠️ Unexpected reply from the server", "⚠️ サーバーから想定外の応答がありました"),
        Text(
            "**{server}** answered, but not with an OpenAI-style streamed answer. Is it an "
            "OpenAI-compatible endpoint? Most want a `base_url` ending in `/v1`.",
            "**{server}** は応答しましたが、OpenAI 形式のストリーミング応答ではありませんでした。"
            "OpenAI 互換のエンドポイントですか？ 多くは `base_url` の末尾が `/v1` です。",
        ),
    ),
    "images_unanswered": Entry(
        Text("⚠️ This model may not read images", "⚠️ このモデルは画像を読めないようです"),
        Text(
            "The server sent nothing back for a message with an image: the model probably reads text "
            "only. Pick a model that understands images (a vision model) under **Model**, or send your "
            "message without the image.",
            "画像つきのメッセージに対してサーバーから何も返ってきませんでした。このモデルはテキストしか"
            "読めないようです。**モデル** で画像を理解できるモデル（ビジョンモデル）を選ぶか、画像なしで"
            "送ってください。",
        ),
    ),
    "empty_stream": Entry(
        Text("⚠️ The server sent no answer", "⚠️ サーバーから回答が届きませんでした"),
        Text(
            "**{server}** accepted the request but sent no text and no end mark. With "
            "llama-cpp-python this happens when the conversation is longer than the model's context "
            f"window: {_SUMMARIZE_EN}, or {_CONTEXT_EN} set the preset's `context_window`. Otherwise "
            "check that `base_url` is an OpenAI-compatible endpoint (most end in `/v1`).",
            "**{server}** はリクエストを受け付けましたが、テキストも終了の合図も送ってきませんでした。"
            "llama-cpp-python では会話がモデルのコンテキスト長を超えるとこうなります。"
            f"{_SUMMARIZE_JA}{_CONTEXT_JA}プリセットの `context_window` を設定してください。そうでなければ "
            "`base_url` が OpenAI 互換のエンドポイントか（多くは末尾が `/v1`）確認してください。",
        ),
    ),
    "cut_off": Entry(
        Text("✂️ The answer was cut off", "✂️ 回答が途中で切れました"),
        Text(
            "{why} What arrived ({chunks} chunks) is kept above. Press Retry to ask again.",
            f"{{why}} 届いた分（{{chunks}} チャンク）は上に残してあります。もう一度聞くには{_RETRY_JA}。",
        ),
    ),
    "interrupted": Entry(
        Text("✂️ The answer was cut off", "✂️ 回答が途中で切れました"),
        Text(
            "The page was reloaded or closed while this answer streamed; what had arrived is kept "
            "above. Press Retry to ask again.",
            f"回答の受信中にページが再読み込みされたか閉じられました。届いた分は上に残してあります。"
            f"もう一度聞くには{_RETRY_JA}。",
        ),
    ),
    "why_no_finish": Entry(
        body=Text(
            "The server ended the answer without saying it was complete. It may have been interrupted by "
            "another request (llama-cpp-python does this by default) or run out of context.",
            "サーバーは完了の合図なしに回答を終えました。別のリクエストに割り込まれた（llama-cpp-python の"
            "既定の動作）か、コンテキストが尽きたのかもしれません。",
        )
    ),
    "why_error_mid_answer": Entry(
        body=Text(
            "The server reported an error mid-answer: {said}",
            "回答の途中でサーバーがエラーを報告しました: {said}",
        )
    ),
    "why_connection_broke": Entry(
        body=Text(
            "The connection to the server broke ({error}).", "サーバーとの接続が切れました（{error}）。"
        )
    ),
    "why_line_too_long": Entry(
        body=Text(
            "The server sent an event line over {limit:,} bytes; llmchat stopped reading there.",
            "サーバーが {limit:,} バイトを超える 1 行を送ってきたため、"
            "llmchat はそこで読み込みを止めました。",
        )
    ),
    "why_answer_too_long": Entry(
        body=Text(
            "The answer reached {limit:,} characters, the most llmchat reads; the rest was not read.",
            "回答が llmchat の読み込む上限の {limit:,} 文字に達したため、残りは読み込みませんでした。",
        )
    ),
    "why_reply_too_large": Entry(
        body=Text(
            "The server's reply passed {limit:,} bytes, the most llmchat reads; the rest was not read.",
            "サーバーの応答が llmchat の読み込む上限の {limit:,} バイトを超えたため、"
            "残りは読み込みませんでした。",
        )
    ),
}
