#include "attn/text/stop_words.h"

#include <algorithm>

#include "attn/core/error.h"

namespace attn::text {
namespace {

// clang-format off
const std::unordered_set<std::string> kEnglish = {
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "you're", "you've", "you'll", "you'd",
    "your", "yours", "yourself", "yourselves", "he", "him", "his", "himself", "she", "she's", "her", "hers",
    "herself", "it", "it's", "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which",
    "who", "whom", "this", "that", "that'll", "these", "those", "am", "is", "are", "was", "were", "be", "been",
    "being", "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an", "the", "and", "but", "if",
    "or", "because", "as", "until", "while", "of", "at", "by", "for", "with", "about", "against", "between",
    "into", "through", "during", "before", "after", "above", "below", "to", "from", "up", "down", "in", "out",
    "on", "off", "over", "under", "again", "further", "then", "once", "here", "there", "when", "where", "why",
    "how", "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "only", "own", "same",
    "so", "than", "too", "very", "s", "t", "can", "will", "just", "should", "should've", "now", "d", "ll", "m",
    "o", "re", "ve", "y", "ma",
    // contractions the word tokenizer keeps whole
    "i'm", "i've", "i'll", "i'd", "he's", "he'll", "he'd", "she'll", "she'd", "it'll", "we're", "we've", "we'll",
    "we'd", "they're", "they've", "they'll", "they'd", "that's", "there's", "here's", "what's", "who's", "let's",
};

const std::unordered_set<std::string> kChinese = {
    // pronouns and demonstratives
    "我", "你", "您", "他", "她", "它", "我们", "你们", "您们", "他们", "她们", "它们", "咱", "咱们", "自己", "人家", "大家", "别人", "这",
    "那", "这个", "那个", "这些", "那些", "这里", "那里", "这儿", "那儿", "这边", "那边", "这样", "那样", "这么", "那么", "这种", "那种", "此",
    "其", "之", "该", "某", "各", "每", "谁", "什么", "哪", "哪里", "哪儿", "哪个", "哪些", "怎", "怎么", "怎样", "怎么样", "如何", "为什么",
    "为何", "多少", "某些", "某个", "各种", "各个", "每个", "其中", "其他", "其它", "其余",
    // particles and interjections
    "的", "地", "得", "了", "着", "过", "吗", "呢", "吧", "啊", "呀", "嘛", "么", "啦", "哦", "喔", "噢", "哟", "哈", "呵", "嘿",
    "哎", "唉", "嗯", "诶", "哇", "咦", "呗", "罢了", "而已", "的话", "似的", "等", "等等", "之类", "所", "者", "乎", "矣", "焉", "哉",
    "兮", "也",
    // conjunctions
    "和", "与", "及", "以及", "跟", "同", "并", "并且", "而", "而且", "或", "或者", "还是", "还有", "且", "但", "但是", "可是", "然而",
    "而是", "只是", "因为", "因此", "所以", "因而", "于是", "然后", "虽然", "虽", "尽管", "即使", "即便", "哪怕", "如果", "假如", "要是", "若",
    "若是", "倘若", "既然", "只要", "只有", "除了", "除非", "以便", "以免", "否则", "何况", "况且", "此外", "另外", "总之", "例如", "比如",
    "譬如", "首先", "其次", "最后", "接着", "同时", "一方面", "另一方面", "就是", "就是说", "也就是说", "即", "则", "乃", "故",
    // prepositions
    "在", "于", "从", "自从", "向", "往", "到", "对", "对于", "关于", "至于", "把", "被", "让", "叫", "给", "为", "为了", "由", "由于",
    "以", "按照", "根据", "依照", "通过", "经过", "随着", "作为", "除", "比", "将", "当", "沿着", "之前", "之后", "以前", "以后", "之间",
    "之中", "之外", "以上", "以下", "以外", "以来", "当中",
    // verbs and adverbs that carry structure, not meaning
    "是", "有", "就", "都", "还", "又", "再", "才", "只", "却", "便", "已", "已经", "曾", "曾经", "正", "正在", "将要", "就要", "刚",
    "刚才", "一直", "一起", "一下", "一些", "一个", "一种", "一切", "些", "个", "能", "会", "可", "可以", "可能", "应该", "应当", "要", "使",
    "使得", "好像", "似乎", "仿佛", "大概", "也许", "或许", "大约", "几乎", "总是", "常常", "往往", "有些", "有的", "有时", "有点", "一点",
    "如此", "如下", "所有", "全部", "都是", "也是", "所谓", "其实", "一样", "一般",
};
// clang-format on

}  // namespace

const std::unordered_set<std::string>& stop_words(std::string_view language) {
  if (language == "en") return kEnglish;
  if (language == "zh") return kChinese;
  detail::throw_error(fmt::format("no stop words for language '{}' (known: en, zh)", language));
}

std::vector<std::string> remove_stop_words(std::vector<std::string> tokens,
                                           const std::unordered_set<std::string>& words) {
  tokens.erase(std::remove_if(tokens.begin(), tokens.end(), [&](const std::string& t) { return words.count(t) > 0; }),
               tokens.end());
  return tokens;
}

}  // namespace attn::text
