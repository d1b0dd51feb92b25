#pragma once
#include <mutex>
#include <ostream>
#include <streambuf>
#include <string>

namespace whittle {

// An output stream for one of several threads that share a log: it collects
// a whole line, then writes it to `target` with `prefix` in front while
// holding `lock`, so that the threads' lines never mix. A carriage return
// also ends a line, since a redrawn progress line cannot share a terminal.
class LinePrefixStream : public std::ostream {
 public:
  LinePrefixStream(std::ostream& target, std::mutex& lock, std::string prefix)
      : std::ostream(&buffer_), buffer_(target, lock, std::move(prefix)) {}
  ~LinePrefixStream() override { buffer_.flush_line(); }

 private:
  class Buffer : public std::streambuf {
   public:
    Buffer(std::ostream& target, std::mutex& lock, std::string prefix)
        : target_(target), lock_(lock), prefix_(std::move(prefix)) {}

    void flush_line() {
      if (line_.empty()) return;
      std::lock_guard<std::mutex> guard(lock_);
      target_ << prefix_ << line_ << '\n' << std::flush;
      line_.clear();
    }

   protected:
    int overflow(int c) override {
      if (c == traits_type::eof()) return traits_type::not_eof(c);
      if (c == '\n' || c == '\r') {
        flush_line();
      } else {
        line_.push_back(static_cast<char>(c));
      }
      return c;
    }
    std::streamsize xsputn(const char* data, std::streamsize count) override {
      for (std::streamsize i = 0; i < count; ++i) overflow(traits_type::to_int_type(data[i]));
      return count;
    }

   private:
    std::ostream& target_;
    std::mutex& lock_;
    std::string prefix_;
    std::string line_;
  };
  Buffer buffer_;
};

}  // namespace whittle
