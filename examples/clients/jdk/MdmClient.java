// An mdm-harness adapter on the JDK's java.net.http.HttpClient (JDK 17 certified).
//
// The HTTP stack is configured the way the java.net.http javadoc shows it:
//
//   HttpClient.newBuilder().sslContext(ctx).proxy(ProxySelector.of(proxy))
//             .connectTimeout(T).followRedirects(NEVER).build();
//   HttpRequest.newBuilder(uri).timeout(T)...;  client.send(request, BodyHandlers.ofByteArray())
//
// and the adapter retries nothing itself: what the harness certifies here is the JDK's
// behaviour (including its own silent resend, jdk.internal.net.http.MultiExchange).
// policy.yaml beside this file declares what the JDK promises.
//
// The adapter protocol (docs/clients.md): MDM_BASE_URL, MDM_USERNAME, MDM_PASSWORD, MDM_PROXY
// (empty: none), MDM_CA_BUNDLE (the only CA trusted), MDM_TIMEOUT_MS in; one JSON object out.
// The XML is read with the JDK's DOM parser hardened as the OWASP XXE cheat sheet says for
// Java: disallow-doctype-decl (no DTD, so no entity of any kind), no XInclude, no entity
// expansion, secure processing. Compile at run time (adapter.sh does), never commit classes.

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.ErrorHandler;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;

public final class MdmClient {

    /** A failure with its adapter-protocol category. */
    static final class Failure extends Exception {
        final String category;

        Failure(String category, String message) {
            super(message);
            this.category = category;
        }
    }

    static final class Usage extends Exception {
        Usage(String message) {
            super(message);
        }
    }

    static final int MAX_PAGES = 1000;
    static final Pattern INT = Pattern.compile("[0-9]+");
    static final Pattern MAC = Pattern.compile("[0-9A-F]{12}");
    static final Map<String, String> CRITERIA = Map.of(
            "mac", "macaddress", "guid", "guid", "udid", "udid", "imei", "imei", "meid", "meid",
            "serial", "serial");
    static final Map<String, Integer> SINCE = Map.of(
            "guid", 3, "udid", 2, "imei", 2, "meid", 2, "serial", 2);
    static final List<String> ACTIONS = List.of("full_wipe", "corporate_wipe", "pin_lock");

    private final HttpClient client;
    private final String baseUrl;
    private final String authorization;
    private final Duration timeout;

    MdmClient(HttpClient client, String baseUrl, String authorization, Duration timeout) {
        this.client = client;
        this.baseUrl = baseUrl;
        this.authorization = authorization;
        this.timeout = timeout;
    }

    // ---------------------------------------------------------------------------------------
    // Entry point

    public static void main(String[] args) {
        String[] op;
        try {
            op = parseArgs(args);
        } catch (Usage e) {
            System.err.println("jdk-adapter: " + e.getMessage());
            System.exit(2);
            return;
        }
        Map<String, String> env = System.getenv();
        String password = env.getOrDefault("MDM_PASSWORD", "");
        String out;
        try {
            MdmClient mdm = fromEnvironment(env);
            out = json(Map.of("outcome", "ok", "result", mdm.run(op)));
        } catch (Failure f) {
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("outcome", "error");
            error.put("error", f.category);
            error.put("message", f.getMessage());
            out = json(error);
        }
        if (!password.isEmpty()) {
            out = out.replace(jsonString(password).substring(1, jsonString(password).length() - 1), "***");
        }
        System.out.println(out);
        System.out.flush();
        System.exit(0); // the client's selector and executor threads must not keep the JVM up
    }

    static String[] parseArgs(String[] args) throws Usage {
        if (args.length == 0) {
            throw new Usage("usage: mdminfo | device --ID VALUE | noncompliant | action ACTION --mac|--guid VALUE");
        }
        String operation = args[0];
        List<String> rest = new ArrayList<>(List.of(args).subList(1, args.length));
        if (operation.equals("mdminfo") || operation.equals("noncompliant")) {
            if (!rest.isEmpty()) {
                throw new Usage(operation + " takes no arguments");
            }
            return new String[] {operation, null, null, null};
        }
        if (!operation.equals("device") && !operation.equals("action")) {
            throw new Usage("unknown operation '" + operation + "'");
        }
        String action = null;
        Set<String> allowed = CRITERIA.keySet();
        if (operation.equals("action")) {
            if (rest.isEmpty() || !ACTIONS.contains(rest.get(0))) {
                throw new Usage("action needs one of " + String.join(", ", ACTIONS) + " first");
            }
            action = rest.remove(0);
            allowed = Set.of("mac", "guid");
        }
        if (!rest.isEmpty() && rest.get(0).startsWith("--") && rest.get(0).contains("=")) {
            String flag = rest.remove(0);
            int eq = flag.indexOf('=');
            rest.add(0, flag.substring(eq + 1));
            rest.add(0, flag.substring(0, eq));
        }
        if (rest.size() != 2 || !rest.get(0).startsWith("--") || !allowed.contains(rest.get(0).substring(2))
                || rest.get(1).isBlank()) {
            throw new Usage(operation + " needs exactly one --ID VALUE");
        }
        String identifier = rest.get(0).substring(2);
        String value = rest.get(1).strip();
        if (identifier.equals("mac")) {
            value = normaliseMac(value);
            if (value == null) {
                throw new Usage("--mac: not a MAC address");
            }
        }
        return new String[] {operation, identifier, value, action};
    }

    static String normaliseMac(String text) {
        String mac = text.replaceAll("[\\s:.\\-]", "").toUpperCase(Locale.ROOT);
        return MAC.matcher(mac).matches() ? mac : null;
    }

    // ---------------------------------------------------------------------------------------
    // The HTTP stack: exactly MDM_CA_BUNDLE, exactly MDM_PROXY, MDM_TIMEOUT_MS

    static MdmClient fromEnvironment(Map<String, String> env) throws Failure {
        String base = env.getOrDefault("MDM_BASE_URL", "");
        if (!base.startsWith("https://")) {
            throw new Failure("protocol_error", "MDM_BASE_URL is not https: credentials stay off plain http");
        }
        Duration timeout = Duration.ofMillis(Long.parseLong(env.getOrDefault("MDM_TIMEOUT_MS", "1000")));
        HttpClient.Builder builder = HttpClient.newBuilder()
                .sslContext(trusting(Path.of(env.getOrDefault("MDM_CA_BUNDLE", ""))))
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                // HTTP/1.1, as the ISE MDM API is spoken; without it the client offers h2 by ALPN.
                .version(HttpClient.Version.HTTP_1_1);
        String proxy = env.getOrDefault("MDM_PROXY", "");
        if (proxy.isEmpty()) {
            builder.proxy(HttpClient.Builder.NO_PROXY);
        } else {
            URI p = URI.create(proxy);
            builder.proxy(ProxySelector.of(new InetSocketAddress(p.getHost(), p.getPort())));
        }
        String credentials = env.getOrDefault("MDM_USERNAME", "") + ":" + env.getOrDefault("MDM_PASSWORD", "");
        String authorization = "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));
        return new MdmClient(builder.build(), base.replaceAll("/+$", ""), authorization, timeout);
    }

    /** An SSLContext that trusts the certificates of one PEM file and nothing else. */
    static SSLContext trusting(Path bundle) throws Failure {
        try (InputStream in = Files.newInputStream(bundle)) {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int n = 0;
            for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                store.setCertificateEntry("ca-" + n++, cert);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new Failure("tls_error", "cannot load MDM_CA_BUNDLE: " + e);
        }
    }

    /** One request; transport failures become categories, statuses are the caller's. */
    byte[] fetch(String method, String url, byte[] body) throws Failure {
        if (!url.startsWith("https://")) {
            throw new Failure("protocol_error", url + " is not https: credentials stay off plain http");
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url))
                .timeout(timeout)
                .header("Accept", "application/xml")
                .header("Authorization", authorization);
        if (body != null) {
            request.header("Content-Type", "application/xml").POST(HttpRequest.BodyPublishers.ofByteArray(body));
        } else {
            request.GET();
        }
        HttpResponse<byte[]> response;
        try {
            response = client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (HttpTimeoutException e) {
            throw new Failure("timeout", method + " " + url + ": " + e);
        } catch (SSLException e) {
            throw new Failure("tls_error", method + " " + url + ": " + e);
        } catch (ConnectException e) {
            throw new Failure("connection_error", method + " " + url + ": " + e);
        } catch (IOException e) {
            throw new Failure(e.getCause() instanceof SSLException ? "tls_error" : "connection_error",
                    method + " " + url + ": " + e);
        } catch (InterruptedException e) {
            throw new Failure("connection_error", method + " " + url + ": interrupted");
        }
        int status = response.statusCode();
        String where = method + " " + url;
        if (status >= 200 && status < 300) {
            return response.body();
        }
        if (status == 401 || status == 403) {
            throw new Failure("unauthorized", where + ": HTTP " + status);
        }
        if (status == 404) {
            throw new Failure("not_found", where + ": HTTP 404");
        }
        if (status == 429 || status >= 500) {
            throw new Failure("server_error", where + ": HTTP " + status);
        }
        if (status >= 300 && status < 400) {
            throw new Failure("protocol_error", where + ": HTTP " + status + ": redirects are not followed");
        }
        throw new Failure("protocol_error", where + ": unexpected HTTP " + status);
    }

    // ---------------------------------------------------------------------------------------
    // The operation

    Object run(String[] op) throws Failure {
        String operation = op[0];
        Map<String, Object> info = parseMdminfo(fetch("GET", baseUrl + "/ciscoise/mdminfo/?ise_api_version=3", null), 3);
        if (operation.equals("mdminfo")) {
            return info;
        }
        int version = (Integer) info.get("api_version");
        String api = apiBase((String) info.get("api_path"));
        if (operation.equals("action")) {
            String criterion = CRITERIA.get(op[1]);
            String value = op[2].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
            byte[] body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ise_api><identifier><" + criterion + ">"
                    + value + "</" + criterion + "></identifier></ise_api>").getBytes(StandardCharsets.UTF_8);
            return parseAction(fetch("POST", api + "/action/actionType=" + op[3], body));
        }
        String criterion = "compliance";
        String value = "false";
        if (operation.equals("device")) {
            criterion = CRITERIA.get(op[1]);
            value = op[2];
            int needed = SINCE.getOrDefault(op[1], 1);
            if (version < needed) {
                throw new Failure("protocol_error", "lookups by " + criterion + " need API version " + needed
                        + "; the server speaks " + version);
            }
        }
        List<Object> devices = new ArrayList<>();
        String cursor = "0";
        Set<String> seen = new HashSet<>(Set.of("0"));
        for (int page = 0; page < MAX_PAGES; page++) {
            Element root = root(fetch("GET", pageUrl(api, version, criterion, value, cursor), null), "attributes");
            String following = text(root, "paging_info", false);
            integer(root, "server_busy_wait_seconds", false, 0);
            integer(root, "api_version", false, 1);
            for (Element device : all(need(root, "devicelist"), "device")) {
                devices.add(device(device));
            }
            if (following == null || following.equals("0")) {
                return Map.of("devices", devices);
            }
            if (!seen.add(following)) {
                throw new Failure("protocol_error", "paging cursor '" + following + "' came back: the server is looping");
            }
            cursor = following;
        }
        throw new Failure("protocol_error", "the listing did not end within " + MAX_PAGES + " pages");
    }

    String apiBase(String apiPath) throws Failure {
        URI base = URI.create(baseUrl);
        String origin = base.getScheme() + "://" + base.getRawAuthority();
        for (char c : apiPath.toCharArray()) {
            if (c <= ' ') {
                throw new Failure("protocol_error", "api_path '" + apiPath + "' contains white space or control characters");
            }
        }
        if (apiPath.contains("://")) {
            URI given = URI.create(apiPath);
            String theirs = given.getScheme() + "://" + given.getRawAuthority();
            if (!theirs.equalsIgnoreCase(origin)) {
                throw new Failure("protocol_error", "api_path '" + apiPath + "' is on another origin than " + origin);
            }
            apiPath = given.getRawPath();
        }
        if (!apiPath.startsWith("/")) {
            apiPath = "/" + apiPath;
        }
        return origin + apiPath.replaceAll("/+$", "");
    }

    static String q(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20").replace("*", "%2A").replace("%7E", "~");
    }

    static String pageUrl(String api, int version, String criterion, String value, String cursor) {
        if (version == 1) {
            return api + "/devices/" + q(cursor) + "/" + q(criterion) + "/" + q(value) + "/all";
        }
        StringBuilder url = new StringBuilder(api).append("/devices/?paging=").append(q(cursor))
                .append("&querycriteria=").append(q(criterion)).append("&value=").append(q(value));
        if (criterion.equals("compliance")) {
            url.append("&deviceidentifier=").append(version >= 3 ? "guid" : "macaddress");
        }
        return url.append("&filter=all").toString();
    }

    // ---------------------------------------------------------------------------------------
    // XML: the JDK's DOM parser, hardened; names compared by local name, case-insensitively

    static Element parse(byte[] data) throws Failure {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setXIncludeAware(false);
            factory.setExpandEntityReferences(false);
            factory.setNamespaceAware(true);
            factory.setCoalescing(true);
            DocumentBuilder builder = factory.newDocumentBuilder();
            builder.setErrorHandler(new ErrorHandler() { // throw, and print nothing on stderr
                public void warning(SAXParseException e) {}

                public void error(SAXParseException e) throws SAXException {
                    throw e;
                }

                public void fatalError(SAXParseException e) throws SAXException {
                    throw e;
                }
            });
            Document doc = builder.parse(new ByteArrayInputStream(data));
            return doc.getDocumentElement();
        } catch (SAXException | IOException e) {
            throw new Failure("parse_error", "not a well-formed document: " + e.getMessage());
        } catch (javax.xml.parsers.ParserConfigurationException e) {
            throw new Failure("parse_error", "no hardened XML parser: " + e);
        }
    }

    static String name(Node node) {
        String local = node.getLocalName() != null ? node.getLocalName() : node.getNodeName();
        return local.toLowerCase(Locale.ROOT);
    }

    static String path(Element el) {
        StringBuilder out = new StringBuilder(name(el));
        for (Node p = el.getParentNode(); p instanceof Element; p = p.getParentNode()) {
            out.insert(0, name(p) + "/");
        }
        return out.toString();
    }

    static List<Element> all(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        for (Node c = parent.getFirstChild(); c != null; c = c.getNextSibling()) {
            if (c instanceof Element && name(c).equals(name)) {
                out.add((Element) c);
            }
        }
        return out;
    }

    static Element one(Element parent, String name) throws Failure {
        List<Element> found = all(parent, name);
        if (found.size() > 1) {
            throw new Failure("parse_error", path(parent) + "/" + name + ": appears " + found.size() + " times, expected once");
        }
        return found.isEmpty() ? null : found.get(0);
    }

    static Element need(Element parent, String name) throws Failure {
        Element el = one(parent, name);
        if (el == null) {
            throw new Failure("parse_error", path(parent) + "/" + name + ": missing");
        }
        return el;
    }

    static String strip(String text) {
        int start = 0;
        int end = text.length();
        while (start < end && " \t\n\r".indexOf(text.charAt(start)) >= 0) {
            start++;
        }
        while (end > start && " \t\n\r".indexOf(text.charAt(end - 1)) >= 0) {
            end--;
        }
        return text.substring(start, end);
    }

    static String ownText(Element el) throws Failure {
        StringBuilder out = new StringBuilder();
        for (Node c = el.getFirstChild(); c != null; c = c.getNextSibling()) {
            if (c instanceof Element) {
                throw new Failure("parse_error", path(el) + ": expected text, found <" + name(c) + ">");
            }
            if (c.getNodeType() == Node.TEXT_NODE || c.getNodeType() == Node.CDATA_SECTION_NODE) {
                out.append(c.getNodeValue());
            }
        }
        return strip(out.toString());
    }

    static String text(Element parent, String name, boolean required) throws Failure {
        Element el = required ? need(parent, name) : one(parent, name);
        if (el == null) {
            return null;
        }
        String value = ownText(el);
        if (value.isEmpty()) {
            if (required) {
                throw new Failure("parse_error", path(el) + ": empty");
            }
            return null;
        }
        return value;
    }

    static Integer integer(Element parent, String name, boolean required, int low) throws Failure {
        String value = text(parent, name, required);
        if (value == null) {
            return null;
        }
        if (!INT.matcher(value).matches() || value.length() > 9 || Integer.parseInt(value) < low) {
            throw new Failure("parse_error", path(parent) + "/" + name + ": '" + value + "' is not an integer >= " + low);
        }
        return Integer.parseInt(value);
    }

    static Long longValue(Element parent, String name) throws Failure {
        String value = text(parent, name, false);
        if (value == null) {
            return null;
        }
        if (!INT.matcher(value).matches() || value.length() > 18) {
            throw new Failure("parse_error", path(parent) + "/" + name + ": '" + value + "' is not an integer");
        }
        return Long.parseLong(value);
    }

    static Boolean bool(Element parent, String name, boolean required) throws Failure {
        String value = text(parent, name, required);
        if (value == null) {
            return null;
        }
        String lower = value.toLowerCase(Locale.ROOT);
        if (!lower.equals("true") && !lower.equals("false")) {
            throw new Failure("parse_error", path(parent) + "/" + name + ": '" + value + "' is not true or false");
        }
        return lower.equals("true");
    }

    static Element root(byte[] data, String expected) throws Failure {
        Element root = parse(data);
        if (!name(root).equals("ise_api")) {
            throw new Failure("parse_error", "root element is <" + name(root) + ">, expected <ise_api>");
        }
        String got = text(root, "name", true);
        if (!got.toLowerCase(Locale.ROOT).equals(expected)) {
            throw new Failure("parse_error", "ise_api/name is '" + got + "', expected '" + expected + "'");
        }
        return root;
    }

    static Map<String, Object> parseMdminfo(byte[] data, int asked) throws Failure {
        Element root = root(data, "mdminfo");
        Map<String, Object> info = new LinkedHashMap<>();
        int version = integer(root, "api_version", true, 1);
        info.put("api_version", version);
        info.put("api_path", text(root, "api_path", true));
        for (String key : List.of("redirect_url", "vendor", "product_name", "product_version")) {
            info.put(key, text(root, key, false));
        }
        Integer size = integer(root, "query_max_size", false, 1);
        info.put("query_max_size", size == null ? 5000 : size);
        info.put("messaging_support", bool(root, "messaging_support", false));
        if (version > asked) {
            throw new Failure("protocol_error", "api_version " + version + " answers a request for " + asked);
        }
        if (version >= 3) {
            for (String key : List.of("vendor", "product_name", "product_version")) {
                if (info.get(key) == null) {
                    throw new Failure("protocol_error", "a version 3 answer must name " + key);
                }
            }
        }
        return info;
    }

    static Map<String, Object> device(Element dev) throws Failure {
        if (one(dev, "macaddress") == null && one(dev, "guid") == null) {
            throw new Failure("parse_error", path(dev) + ": no <macaddress> or <guid> identifies the device");
        }
        Element attrs = need(dev, "attributes");
        for (Node c = attrs.getFirstChild(); c != null; c = c.getNextSibling()) {
            if (c.getNodeType() == Node.TEXT_NODE && !strip(c.getNodeValue()).isEmpty()) {
                throw new Failure("parse_error", path(attrs) + ": text where elements belong");
            }
        }
        String mac = text(dev, "macaddress", false);
        if (mac != null && normaliseMac(mac) == null) {
            throw new Failure("parse_error", path(dev) + "/macaddress: '" + mac + "' is not a MAC address");
        }
        String guid = text(dev, "guid", false);
        String attrGuid = text(attrs, "guid", false);
        if (guid != null && attrGuid != null && !guid.equals(attrGuid)) {
            throw new Failure("parse_error", path(dev) + ": <guid> contradicts attributes/guid");
        }
        Element compliance = one(attrs, "compliance");
        if (compliance != null && compliance.getElementsByTagName("*").getLength() == 0
                && !strip(compliance.getTextContent()).isEmpty()) {
            throw new Failure("parse_error", path(compliance) + ": expected status/failure_reason/remediation");
        }
        List<Object> macs = new ArrayList<>();
        String rawMacs = text(attrs, "macaddresses", false);
        if (rawMacs != null) {
            for (String part : rawMacs.split(",")) {
                if (!strip(part).isEmpty()) {
                    String m = normaliseMac(part);
                    if (m == null) {
                        throw new Failure("parse_error", path(attrs) + "/macaddresses: '" + strip(part) + "' is not a MAC");
                    }
                    macs.add(m);
                }
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("macaddress", mac == null ? null : normaliseMac(mac));
        out.put("guid", guid != null ? guid : attrGuid);
        out.put("register_status", bool(attrs, "register_status", false));
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("status", compliance == null ? null : bool(compliance, "status", false));
        c.put("failure_reason", compliance == null ? null : text(compliance, "failure_reason", false));
        c.put("remediation", compliance == null ? null : text(compliance, "remediation", false));
        out.put("compliance", c);
        for (String key : List.of("disk_encryption_on", "pin_lock_on", "jail_broken")) {
            out.put(key, bool(attrs, key, false));
        }
        for (String key : List.of("manufacturer", "model", "imei", "meid", "udid", "serial_number", "os_version", "phone_number")) {
            out.put(key, text(attrs, key, false));
        }
        out.put("last_checkin_ms", longValue(attrs, "lastcheckintimestamp"));
        out.put("macaddresses", macs);
        return out;
    }

    static Map<String, Object> parseAction(byte[] data) throws Failure {
        Element root = root(data, "action");
        List<Element> devices = all(need(root, "devicelist"), "device");
        if (devices.size() != 1) {
            throw new Failure("parse_error", "ise_api/devicelist: " + devices.size() + " devices, expected one");
        }
        Element result = need(devices.get(0), "result");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("action_status", bool(result, "action_status", true));
        out.put("failure_reason", text(result, "failure_reason", false));
        return out;
    }

    // ---------------------------------------------------------------------------------------
    // JSON out

    static String json(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof String) {
            return jsonString((String) value);
        }
        if (value instanceof Boolean || value instanceof Integer || value instanceof Long) {
            return value.toString();
        }
        StringBuilder out = new StringBuilder();
        if (value instanceof Map) {
            out.append('{');
            String sep = "";
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                out.append(sep).append(jsonString(e.getKey().toString())).append(": ").append(json(e.getValue()));
                sep = ", ";
            }
            return out.append('}').toString();
        }
        out.append('[');
        String sep = "";
        for (Object item : (List<?>) value) {
            out.append(sep).append(json(item));
            sep = ", ";
        }
        return out.append(']').toString();
    }

    static String jsonString(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
