# Trains tokenizer.json here, the byte-level BPE fixture of ByteLevelBpeTest (vocab 4,000), with
# Hugging Face tokenizers 0.23.2 (reproduces the file byte for byte):
#   python make.py TRAIN.txt tokenizer.json
# TRAIN.txt was 20,000 lines (instruction, input and output of the first 20,000 records of
# ../shared/peers make_corpus.py's alpaca.json, one record a line).
import sys
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, processors

texts = list(open(sys.argv[1], encoding="utf-8"))
texts += ["Zürich café naïve résumé Ελληνικά русский 中文字符 한국어 العربية हिन्दी ① ² Ⅻ ٣٤ 12,345.67 can't we'll I'd"] * 50
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=4000, special_tokens=["<unk>", "<s>", "</s>", "<|im_end|>"],
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train_from_iterator(texts, trainer)
tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
tok.save(sys.argv[2])
print(len(texts), tok.get_vocab_size())
