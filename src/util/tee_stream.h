#pragma once
#include <ostream>
#include <streambuf>

namespace whittle {

// An output stream that writes everything to two others, e.g. the terminal
// and a run's log file.
class TeeStream : public std::ostream {
 public:
  TeeStream(std::ostream& first, std::ostream& second) : std::ostream(&buffer_), buffer_(first, second) {}

 private:
  class Buffer : public std::streambuf {
   public:
    Buffer(std::ostream& first, std::ostream& second) : first_(first), second_(second) {}

   protected:
    int overflow(int c) override {
      if (c == traits_type::eof()) return traits_type::not_eof(c);
      char ch = static_cast<char>(c);
      first_.write(&ch, 1);
      second_.write(&ch, 1);
      return c;
    }
    std::streamsize xsputn(const char* data, std::streamsize count) override {
      first_.write(data, count);
      second_.write(data, count);
      return count;
    }
    int sync() override {
      first_.flush();
      second_.flush();
      return 0;
    }

   private:
    std::ostream& first_;
    std::ostream& second_;
  };
  Buffer buffer_;
};

}  // namespace whittle
